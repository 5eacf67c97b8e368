output "ingress_class_name" {
  description = "IngressClass of every Ingress (the chart's routing.ingressClassName)."
  value       = var.ingress_class_name
}

output "ingress_group_name" {
  description = "IngressGroup that puts every Ingress behind one ALB (annotation alb.ingress.kubernetes.io/group.name)."
  value       = var.group_name
}

output "annotations" {
  description = "Annotations for every Ingress of the chart and the operator: one ALB, HTTPS with the certificate, the WAF web ACL."
  value       = merge(local.base, local.waf)

  precondition {
    condition     = var.waf_web_acl_arn != null || !var.require_waf
    error_message = "The public ALB must have a WAF web ACL: set waf_web_acl_arn (enable_waf in the root module) or require_waf = false."
  }
}
