# ExternalDNS: publishes the host of every Ingress (api.<base domain> and each
# event's host) in the base domain's Route 53 zone, pointing at the ALB the
# Load Balancer Controller made. It owns only the records it created (TXT
# ownership records naming this cluster), and removes them with the Ingress.

data "aws_iam_policy_document" "external_dns" {
  statement {
    sid       = "ChangeRecordsOfTheBaseDomain"
    actions   = ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:ListTagsForResources"]
    resources = ["arn:${local.partition}:route53:::hostedzone/${var.route53_zone_id}"]
  }

  statement {
    sid       = "FindTheZone"
    actions   = ["route53:ListHostedZones"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "external_dns" {
  name   = "external-dns"
  role   = aws_iam_role.this["external_dns"].id
  policy = data.aws_iam_policy_document.external_dns.json
}

data "aws_eks_addon_version" "external_dns" {
  addon_name         = "external-dns"
  kubernetes_version = var.kubernetes_version
}

resource "aws_eks_addon" "external_dns" {
  cluster_name                = var.cluster_name
  addon_name                  = "external-dns"
  addon_version               = data.aws_eks_addon_version.external_dns.version
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "PRESERVE"

  configuration_values = jsonencode({
    domainFilters = [var.base_domain]
    policy        = "sync"
    txtOwnerId    = var.cluster_name
  })

  tags = var.tags

  depends_on = [aws_eks_pod_identity_association.this, aws_iam_role_policy.external_dns]
}
