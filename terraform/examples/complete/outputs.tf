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

output "waf_web_acl_arn" {
  description = "WAF web ACL ARN for the Ingress annotation."
  value       = module.ticketing.waf_web_acl_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.ticketing.alarm_topic_arn
}
