# The cluster add-ons the chart needs beyond those of the eks module, each
# with the IAM role it assumes through EKS Pod Identity (the pods never see
# the node role: the launch template's IMDS hop limit of 1 keeps them away):
#
#   Cluster Autoscaler            kube-system/cluster-autoscaler             cluster_autoscaler.tf
#   AWS Load Balancer Controller  kube-system/aws-load-balancer-controller   load_balancer_controller.tf
#   ExternalDNS (EKS add-on)      external-dns/external-dns                  external_dns.tf
#
# ExternalDNS is an EKS managed add-on like the eks module's; the Cluster
# Autoscaler and the Load Balancer Controller have no EKS add-on, so their
# Helm releases are the documented step after `terraform apply` (README.md),
# with the service account names this module binds the roles to.

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  service_accounts = {
    cluster_autoscaler       = { namespace = "kube-system", name = "cluster-autoscaler" }
    load_balancer_controller = { namespace = "kube-system", name = "aws-load-balancer-controller" }
    external_dns             = { namespace = "external-dns", name = "external-dns" }
  }
}

# Each role may be assumed only by EKS Pod Identity, for this account, this
# cluster and its one service account (the session tags that Pod Identity
# sets on every request).
data "aws_iam_policy_document" "pod_identity_assume" {
  for_each = local.service_accounts

  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks-cluster-name"
      values   = [var.cluster_name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-namespace"
      values   = [each.value.namespace]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-service-account"
      values   = [each.value.name]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.service_accounts

  name_prefix        = "${substr(var.cluster_name, 0, 20)}-${substr(replace(each.key, "_", "-"), 0, 12)}-"
  description        = "Assumed by ${each.value.namespace}/${each.value.name} on ${var.cluster_name} through EKS Pod Identity."
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume[each.key].json

  tags = var.tags
}

resource "aws_eks_pod_identity_association" "this" {
  for_each = local.service_accounts

  cluster_name    = var.cluster_name
  namespace       = each.value.namespace
  service_account = each.value.name
  role_arn        = aws_iam_role.this[each.key].arn

  tags = var.tags
}
