variable "base_domain" {
  description = "Base DNS domain of the API and event hosts (the chart's routing.baseDomain); the certificate covers it and every name one level below it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,}$", var.base_domain)) && length(var.base_domain) <= 62
    error_message = "The base_domain must be a lowercase DNS name of at most 62 characters, such as tickets.example.com."
  }
}

variable "route53_zone_id" {
  description = "Route 53 public hosted zone that answers for base_domain; the validation records go there."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,32}$", var.route53_zone_id))
    error_message = "The route53_zone_id must be a hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
