output "region" {
  description = "AWS region of the stack."
  value       = module.ticketing.region
}

output "cluster_name" {
  description = "EKS cluster name."
  value       = module.ticketing.cluster_name
}

output "aurora_endpoint" {
  description = "Aurora writer endpoint."
  value       = module.ticketing.aurora_endpoint
}

output "aurora_port" {
  description = "Aurora port."
  value       = module.ticketing.aurora_port
}

output "aurora_database_name" {
  description = "Service database name."
  value       = module.ticketing.aurora_database_name
}

output "aurora_master_user_secret_arn" {
  description = "Secret with the Aurora master user name and password."
  value       = module.ticketing.aurora_master_user_secret_arn
}

output "redis_primary_endpoint" {
  description = "Redis primary endpoint."
  value       = module.ticketing.redis_primary_endpoint
}

output "redis_secret_arn" {
  description = "Secret with the Redis auth token and rediss:// URL."
  value       = module.ticketing.redis_secret_arn
}

output "vpc_id" {
  description = "VPC of the cluster (the AWS Load Balancer Controller's vpcId)."
  value       = module.ticketing.vpc_id
}

output "cluster_version" {
  description = "Kubernetes version of the cluster."
  value       = module.ticketing.cluster_version
}

output "base_domain" {
  description = "The chart's routing.baseDomain."
  value       = module.ticketing.base_domain
}

output "ingress_class_name" {
  description = "The chart's routing.ingressClassName."
  value       = module.ticketing.ingress_class_name
}

output "ingress_group_name" {
  description = "IngressGroup of every Ingress (one ALB)."
  value       = module.ticketing.ingress_group_name
}

output "acm_certificate_arn" {
  description = "ACM certificate for the Ingress annotation."
  value       = module.ticketing.acm_certificate_arn
}

output "waf_web_acl_arn" {
  description = "WAF web ACL ARN for the Ingress annotation."
  value       = module.ticketing.waf_web_acl_arn
}

output "alb_ingress_annotations" {
  description = "Annotations for every Ingress of the chart and the operator's events."
  value       = module.ticketing.alb_ingress_annotations
}

output "addon_service_accounts" {
  description = "Service account of each add-on, bound to its IAM role."
  value       = module.ticketing.addon_service_accounts
}

output "addon_role_arns" {
  description = "IAM role of each add-on."
  value       = module.ticketing.addon_role_arns
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.ticketing.alarm_topic_arn
}
