variable "name" {
  description = "Name of the web ACL and its log group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,60}$", var.name))
    error_message = "The name must be 2-61 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "rate_limit_per_5_minutes" {
  description = "Requests one client IP may send in five minutes before WAF blocks it. The service has its own per-user limits; this stops floods before they reach it."
  type        = number
  default     = 20000

  validation {
    condition     = var.rate_limit_per_5_minutes >= 100 && var.rate_limit_per_5_minutes <= 2000000000
    error_message = "The rate_limit_per_5_minutes must be between 100 and 2,000,000,000 (the WAF limits)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN that encrypts the WAF log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Days to keep the WAF logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a retention period that CloudWatch Logs accepts, such as 30, 90 or 365."
  }
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
