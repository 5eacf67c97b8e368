variable "group_name" {
  description = "IngressGroup of every Ingress of the chart and the operator: the AWS Load Balancer Controller puts all of them behind one ALB."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.group_name))
    error_message = "The group_name must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of the base domain and its one-level wildcard, served by the ALB."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[-0-9a-f]+$", var.certificate_arn))
    error_message = "The certificate_arn must be an ACM certificate ARN."
  }
}

variable "waf_web_acl_arn" {
  description = "Regional WAF web ACL the ALB is associated with; null for none (refused when require_waf is true)."
  type        = string
  default     = null

  validation {
    condition     = var.waf_web_acl_arn == null || can(regex("^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/", var.waf_web_acl_arn))
    error_message = "The waf_web_acl_arn must be a REGIONAL wafv2 web ACL ARN (a CLOUDFRONT one cannot be associated with an ALB)."
  }
}

variable "require_waf" {
  description = "Refuse a public ALB without a web ACL."
  type        = bool
  default     = true
}

variable "ingress_class_name" {
  description = "IngressClass that the AWS Load Balancer Controller serves (its Helm chart creates alb)."
  type        = string
  default     = "alb"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.ingress_class_name))
    error_message = "The ingress_class_name must be a Kubernetes object name."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "The ssl_policy must be one of the ELBSecurityPolicy-TLS13-* policies (TLS 1.3, no legacy ciphers)."
  }
}

variable "healthcheck_path" {
  description = "Path on the service's public port that the ALB probes each pod on; it must answer 200 without authentication."
  type        = string
  default     = "/api/health"

  validation {
    condition     = startswith(var.healthcheck_path, "/")
    error_message = "The healthcheck_path must start with a slash."
  }
}
