output "service_accounts" {
  description = "Namespace and name of the service account of each add-on, as bound to its IAM role (the Helm installs must use exactly these)."
  value       = local.service_accounts
}

output "role_arns" {
  description = "IAM role of each add-on (cluster_autoscaler, load_balancer_controller, external_dns), assumed through EKS Pod Identity."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}
