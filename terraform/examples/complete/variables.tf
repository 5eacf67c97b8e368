variable "region" {
  description = "AWS region to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as eu-west-1."
  }
}

variable "environment" {
  description = "Deployment environment: dev, staging or prod."
  type        = string
  default     = "prod"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of dev, staging or prod."
  }
}

variable "azs" {
  description = "Availability zones of the region to use (at least two)."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2
    error_message = "Give at least two availability zones."
  }
}

variable "public_access_cidrs" {
  description = "Addresses allowed to reach the EKS API (where you run kubectl and helm from)."
  type        = list(string)

  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrhost(cidr, 0))])
    error_message = "The public_access_cidrs must be CIDR blocks."
  }
}

variable "base_domain" {
  description = "Base DNS domain of the API and event hosts (the chart's routing.baseDomain)."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 public hosted zone of base_domain."
  type        = string
}

variable "concurrent_on_sales" {
  description = "TicketEvents whose sales may peak at the same time (name, peakReplicas, hpa.maxReplicas, CPU request of a pod in millicores); they size the database connections and the node group."
  type = list(object({
    name           = string
    peak_replicas  = number
    max_replicas   = number
    cpu_millicores = optional(number, 250)
  }))
}

variable "node_max_size" {
  description = "Maximum number of nodes; the peak's CPU requests must fit (the plan fails otherwise)."
  type        = number
  default     = 10
}

variable "aurora_instance_class" {
  description = "Aurora instance class; large enough for the peak's connections (the plan fails otherwise)."
  type        = string
  default     = "db.r6g.large"
}

variable "alarm_emails" {
  description = "E-mail addresses that receive the alarms."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.alarm_emails : strcontains(email, "@")])
    error_message = "Every alarm_emails entry must be an e-mail address."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
