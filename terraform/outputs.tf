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

output "peak_nodes" {
  description = "Nodes the peak's CPU requests need (at most node_max_size, or the plan fails)."
  value       = module.thresholds.peak_nodes
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

output "vpc_id" {
  description = "VPC of the cluster (the AWS Load Balancer Controller's vpcId: pods cannot read it from the instance metadata)."
  value       = module.network.vpc_id
}

# For the chart (helm/ticketing) on EKS ----------------------------------------

output "base_domain" {
  description = "The chart's routing.baseDomain: the certificate covers it and one level below, ExternalDNS publishes the hosts in it."
  value       = var.base_domain
}

output "ingress_class_name" {
  description = "The chart's routing.ingressClassName: the IngressClass of the AWS Load Balancer Controller."
  value       = module.alb_ingress.ingress_class_name
}

output "ingress_group_name" {
  description = "IngressGroup of every Ingress (annotation alb.ingress.kubernetes.io/group.name): one ALB for the API and every event."
  value       = module.alb_ingress.ingress_group_name
}

output "acm_certificate_arn" {
  description = "ACM certificate of base_domain and *.base_domain (annotation alb.ingress.kubernetes.io/certificate-arn)."
  value       = module.certificate.certificate_arn
}

output "waf_web_acl_arn" {
  description = "WAF web ACL for the Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn; null when enable_waf is false."
  value       = var.enable_waf ? module.waf[0].web_acl_arn : null
}

output "alb_ingress_annotations" {
  description = "Annotations for every Ingress of the chart and of the operator's events (group, certificate, WAF web ACL, HTTPS, IP targets, health check); identical on all of them, as the controller requires."
  value       = module.alb_ingress.annotations
}

# For the add-ons' Helm installs (README.md) -----------------------------------

output "addon_service_accounts" {
  description = "Namespace and name of each add-on's service account, bound to its IAM role by EKS Pod Identity."
  value       = module.cluster_addons.service_accounts
}

output "addon_role_arns" {
  description = "IAM role of each add-on (cluster_autoscaler, load_balancer_controller, external_dns)."
  value       = module.cluster_addons.role_arns
}

output "kms_key_arn" {
  description = "KMS key that encrypts the stack's data at rest."
  value       = aws_kms_key.this.arn
}
