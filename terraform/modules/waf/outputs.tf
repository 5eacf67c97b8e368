output "web_acl_arn" {
  description = "ARN of the web ACL, for the Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn."
  value       = aws_wafv2_web_acl.this.arn
}
