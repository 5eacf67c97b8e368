# The annotations every Ingress of the chart and of the operator carries on
# EKS, so that the AWS Load Balancer Controller serves all of them from one
# internet-facing ALB: HTTPS with the ACM certificate, HTTP redirected to it,
# pods registered by IP, and the WAF web ACL associated with the ALB. The
# controller requires group-wide settings (scheme, certificate, TLS policy,
# web ACL) to be the same on every Ingress of the group, which is why they
# come from one place.
locals {
  prefix = "alb.ingress.kubernetes.io"

  base = {
    "${local.prefix}/scheme"           = "internet-facing"
    "${local.prefix}/target-type"      = "ip"
    "${local.prefix}/group.name"       = var.group_name
    "${local.prefix}/listen-ports"     = jsonencode([{ HTTP = 80 }, { HTTPS = 443 }])
    "${local.prefix}/ssl-redirect"     = "443"
    "${local.prefix}/certificate-arn"  = var.certificate_arn
    "${local.prefix}/ssl-policy"       = var.ssl_policy
    "${local.prefix}/healthcheck-path" = var.healthcheck_path
  }

  waf = var.waf_web_acl_arn == null ? {} : { "${local.prefix}/wafv2-acl-arn" = var.waf_web_acl_arn }
}
