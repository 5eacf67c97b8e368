locals {
  log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  node_policies = {
    worker   = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
    cni      = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    registry = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
  }

  # Add-ons managed by EKS. The CloudWatch observability add-on publishes the
  # Container Insights node metrics that the node health alarm watches;
  # metrics-server serves the resource metrics API that every
  # HorizontalPodAutoscaler of the chart and the operator reads CPU from.
  addons = ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "amazon-cloudwatch-observability", "metrics-server"]
}

# Control plane ---------------------------------------------------------------

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name_prefix        = "${substr(var.name, 0, 24)}-cluster-"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}

# Created before the cluster so that its retention and encryption apply from
# the first log line (EKS would otherwise create it without either).
resource "aws_cloudwatch_log_group" "cluster" {
  name              = "/aws/eks/${var.name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_eks_cluster" "this" {
  #checkov:skip=CKV_AWS_339:checkov 3.3.30 knows EKS versions up to 1.35 and so refuses 1.36; the kubernetes_version validation refuses every version before 1.35, which are out of EKS standard support.
  #checkov:skip=CKV_AWS_39:The public endpoint is restricted to var.public_access_cidrs, whose validation forbids /0; it is off when that list is empty.
  name                      = var.name
  version                   = var.kubernetes_version
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = local.log_types

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = length(var.public_access_cidrs) > 0
    public_access_cidrs     = length(var.public_access_cidrs) > 0 ? var.public_access_cidrs : null
  }

  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  # STANDARD: when a version leaves standard support, EKS upgrades the control
  # plane instead of billing extended support. The upgrade path (README.md) is
  # to raise kubernetes_version one minor at a time well before that date;
  # the node group and the add-ons follow in the same apply.
  upgrade_policy {
    support_type = var.support_type
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = var.kms_key_arn
    }
  }

  tags = var.tags

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_cloudwatch_log_group.cluster,
  ]
}

# Nodes: one EC2 managed node group, which is an Auto Scaling group that EKS
# spreads over every given subnet, so over every AZ. ---------------------------

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name_prefix        = "${substr(var.name, 0, 24)}-node-"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = local.node_policies

  role       = aws_iam_role.node.name
  policy_arn = each.value
}

# With a launch template, EKS attaches only the security groups listed here,
# so the cluster security group is listed next to the node security group.
resource "aws_launch_template" "nodes" {
  name_prefix            = "${var.name}-nodes-"
  description            = "Nodes of ${var.name}: IMDSv2 only, encrypted root volume."
  update_default_version = true
  vpc_security_group_ids = [aws_eks_cluster.this.vpc_config[0].cluster_security_group_id, var.node_security_group_id]

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.node_disk_size_gib
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }

  tags = var.tags
}

resource "aws_eks_node_group" "this" {
  cluster_name    = aws_eks_cluster.this.name
  version         = aws_eks_cluster.this.version
  node_group_name = "${var.name}-nodes"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids
  ami_type        = "AL2023_x86_64_STANDARD"
  capacity_type   = "ON_DEMAND"
  instance_types  = var.node_instance_types

  scaling_config {
    min_size     = var.node_min_size
    desired_size = var.node_desired_size
    max_size     = var.node_max_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.nodes.id
    version = aws_launch_template.nodes.latest_version
  }

  labels = {
    "ticketing/role" = "app"
  }

  tags = var.tags

  lifecycle {
    # The Cluster Autoscaler owns the current size once the group exists.
    ignore_changes = [scaling_config[0].desired_size]

    precondition {
      condition     = var.node_min_size <= var.node_desired_size && var.node_desired_size <= var.node_max_size
      error_message = "The node group sizes must satisfy min <= desired <= max."
    }
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

# The CloudWatch agent gets its credentials through EKS Pod Identity rather
# than from the node role: the launch template's IMDS hop limit of 1 keeps
# pods away from the node role.
data "aws_iam_policy_document" "cloudwatch_agent_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch_agent" {
  name_prefix        = "${substr(var.name, 0, 24)}-cw-agent-"
  assume_role_policy = data.aws_iam_policy_document.cloudwatch_agent_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cloudwatch_agent" {
  role       = aws_iam_role.cloudwatch_agent.name
  policy_arn = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
}

resource "aws_eks_pod_identity_association" "cloudwatch_agent" {
  cluster_name    = aws_eks_cluster.this.name
  namespace       = "amazon-cloudwatch"
  service_account = "cloudwatch-agent"
  role_arn        = aws_iam_role.cloudwatch_agent.arn

  tags = var.tags
}

# The default version of each add-on for the cluster's Kubernetes version:
# it changes when the cluster version does, so an upgrade of the control
# plane moves the add-ons with it (EKS never upgrades them by itself).
data "aws_eks_addon_version" "this" {
  for_each = toset(local.addons)

  addon_name         = each.key
  kubernetes_version = aws_eks_cluster.this.version
}

resource "aws_eks_addon" "this" {
  for_each = toset(local.addons)

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = data.aws_eks_addon_version.this[each.key].version
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "PRESERVE"

  tags = var.tags

  # coredns, metrics-server and the CloudWatch agent need nodes to schedule
  # on, and the agent its Pod Identity association.
  depends_on = [aws_eks_node_group.this, aws_eks_pod_identity_association.cloudwatch_agent]
}
