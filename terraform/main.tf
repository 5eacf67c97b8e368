# The ticketing stack on AWS: a VPC over two or more AZs, EKS with an EC2
# managed node group and the add-ons the chart needs (metrics-server, the
# Cluster Autoscaler's, the AWS Load Balancer Controller's and ExternalDNS's
# IAM), Aurora MySQL 8 (writer and reader in different AZs), ElastiCache Redis
# (primary and replica with automatic failover), the security groups that tie
# them together, CloudWatch alarms, the ACM certificate of the base domain and
# the WAF in front of the ALB. Provider configuration is left to the caller
# (see examples/complete).

module "naming" {
  source = "./modules/naming"

  project     = var.project
  environment = var.environment
  tags        = var.tags
}

module "thresholds" {
  source = "./modules/thresholds"

  aurora_instance_class   = var.aurora_instance_class
  concurrent_on_sales     = var.concurrent_on_sales
  api_max_replicas        = var.api_max_replicas
  db_pool_size_per_pod    = var.db_pool_size_per_pod
  aurora_max_connections  = var.aurora_max_connections
  node_min_size           = var.node_min_size
  node_max_size           = var.node_max_size
  node_pod_cpu_millicores = var.node_pod_cpu_millicores
}

locals {
  names = module.naming.names
  tags  = module.naming.tags
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

# One customer-managed key for everything at rest in this stack: Kubernetes
# secrets, node volumes, Aurora, Redis, Secrets Manager, SNS and the log groups.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:This is a key policy: Resource "*" means this key only, and only the account root and named AWS services are principals.
  #checkov:skip=CKV_AWS_111:This is a key policy: Resource "*" means this key only, and only the account root and named AWS services are principals.
  #checkov:skip=CKV_AWS_356:This is a key policy: Resource "*" means this key only; a key policy cannot name the key's own ARN before it exists.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }

  # The node group's Auto Scaling group launches instances whose root volumes
  # are encrypted with this key, through its service-linked role.
  statement {
    sid       = "AutoScalingUsesTheKeyForNodeVolumes"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Encryption at rest for ${module.naming.prefix}."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${module.naming.prefix}"
  target_key_id = aws_kms_key.this.key_id
}

module "network" {
  source = "./modules/network"

  name               = local.names.vpc
  vpc_cidr           = var.vpc_cidr
  azs                = var.azs
  single_nat_gateway = var.single_nat_gateway
  cluster_name       = local.names.cluster
  kms_key_arn        = aws_kms_key.this.arn
  tags               = local.tags
}

module "security_groups" {
  source = "./modules/security-groups"

  name   = module.naming.prefix
  vpc_id = module.network.vpc_id
  tags   = local.tags
}

module "eks" {
  source = "./modules/eks"

  name                   = local.names.cluster
  kubernetes_version     = var.kubernetes_version
  support_type           = var.eks_support_type
  subnet_ids             = module.network.private_subnet_ids
  node_security_group_id = module.security_groups.node_security_group_id
  kms_key_arn            = aws_kms_key.this.arn
  public_access_cidrs    = var.public_access_cidrs
  node_instance_types    = var.node_instance_types
  node_min_size          = var.node_min_size
  node_desired_size      = var.node_desired_size
  node_max_size          = var.node_max_size
  tags                   = local.tags
}

module "aurora" {
  source = "./modules/aurora"

  name                  = local.names.aurora
  instance_class        = var.aurora_instance_class
  instance_count        = var.aurora_instance_count
  azs                   = var.azs
  max_connections       = module.thresholds.aurora_max_connections
  backup_retention_days = var.aurora_backup_retention_days
  deletion_protection   = var.deletion_protection
  db_subnet_group_name  = module.network.db_subnet_group_name
  security_group_id     = module.security_groups.database_security_group_id
  kms_key_arn           = aws_kms_key.this.arn
  tags                  = local.tags
}

module "redis" {
  source = "./modules/redis"

  name               = local.names.redis
  node_type          = var.redis_node_type
  num_cache_clusters = var.redis_num_cache_clusters
  azs                = var.azs
  subnet_group_name  = module.network.elasticache_subnet_group_name
  security_group_id  = module.security_groups.redis_security_group_id
  kms_key_arn        = aws_kms_key.this.arn
  tags               = local.tags
}

module "alarms" {
  source = "./modules/alarms"

  name                        = local.names.alarms
  kms_key_arn                 = aws_kms_key.this.arn
  alarm_emails                = var.alarm_emails
  aurora_instance_identifiers = module.aurora.instance_identifiers
  # ElastiCache names the members of a replication group <id>-001, -002, ...;
  # computing them keeps the alarm keys known at plan time.
  redis_member_ids = [for index in range(var.redis_num_cache_clusters) : format("%s-%03d", local.names.redis, index + 1)]
  cluster_name     = module.eks.cluster_name
  thresholds       = module.thresholds.alarm_thresholds
  tags             = local.tags
}

module "waf" {
  source = "./modules/waf"
  count  = var.enable_waf ? 1 : 0

  name                     = local.names.waf
  rate_limit_per_5_minutes = var.waf_rate_limit_per_5_minutes
  kms_key_arn              = aws_kms_key.this.arn
  tags                     = local.tags
}

module "cluster_addons" {
  source = "./modules/cluster-addons"

  cluster_name                = module.eks.cluster_name
  kubernetes_version          = module.eks.cluster_version
  node_autoscaling_group_name = module.eks.node_autoscaling_group_name
  base_domain                 = var.base_domain
  route53_zone_id             = var.route53_zone_id
  tags                        = local.tags
}

module "certificate" {
  source = "./modules/certificate"

  base_domain     = var.base_domain
  route53_zone_id = var.route53_zone_id
  tags            = local.tags
}

# What every Ingress of the chart and the operator carries: the production
# ALB may not go without the WAF.
module "alb_ingress" {
  source = "./modules/alb-ingress"

  group_name      = module.naming.prefix
  certificate_arn = module.certificate.certificate_arn
  waf_web_acl_arn = var.enable_waf ? module.waf[0].web_acl_arn : null
  require_waf     = var.environment == "prod"
}
