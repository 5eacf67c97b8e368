# Everything the Helm install needs; see README.md for how each value is used.

output "region" {
  description = "AWS region of the stack."
  value       = data.aws_region.current.name
}

output "cluster_name" {
  description = "EKS cluster name: aws eks update-kubeconfig --name <this>."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "node_autoscaling_group_name" {
  description = "Auto Scaling group behind the EKS managed node group."
  value       = module.eks.node_autoscaling_group_name
}

output "aurora_endpoint" {
  description = "Aurora writer endpoint (host of DATABASE_URL)."
  value       = module.aurora.endpoint
}

output "aurora_reader_endpoint" {
  description = "Aurora reader endpoint."
  value       = module.aurora.reader_endpoint
}

output "aurora_port" {
  description = "Aurora port."
  value       = module.aurora.port
}

output "aurora_database_name" {
  description = "Database the service uses (path of DATABASE_URL)."
  value       = module.aurora.database_name
}

output "aurora_master_username" {
  description = "Aurora master user name."
  value       = module.aurora.master_username
}

output "aurora_master_user_secret_arn" {
  description = "Secrets Manager secret (managed by RDS) with the Aurora master user name and password."
  value       = module.aurora.master_user_secret_arn
}

output "aurora_max_connections" {
  description = "max_connections set on the Aurora instances, sized for the service pools at the peak."
  value       = module.thresholds.aurora_max_connections
}

output "peak_service_pods" {
  description = "Service pods the connection budget is sized for: every concurrent on-sale at its ceiling plus the API at its maximum."
  value       = module.thresholds.peak_service_pods
}

output "redis_primary_endpoint" {
  description = "Redis primary endpoint (host of REDIS_URL; TLS)."
  value       = module.redis.primary_endpoint_address
}

output "redis_port" {
  description = "Redis port."
  value       = module.redis.port
}

output "redis_secret_arn" {
  description = "Secrets Manager secret with the Redis auth token and the complete rediss:// URL (key url)."
  value       = module.redis.secret_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the CloudWatch alarms."
  value       = module.alarms.sns_topic_arn
}

output "cluster_version" {
  description = "Kubernetes version of the cluster (pick the Cluster Autoscaler image of the same minor)."
  value       = module.eks.cluster_version
}

output "waf_web_acl_arn" {
  description = "WAF web ACL for the Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn; null when enable_waf is false."
  value       = var.enable_waf ? module.waf[0].web_acl_arn : null
}

output "kms_key_arn" {
  description = "KMS key that encrypts the stack's data at rest."
  value       = aws_kms_key.this.arn
}
