variable "name" {
  description = "Name prefix of the SNS topic and the alarms."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "The name must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN that encrypts the SNS topic; its key policy must let CloudWatch use it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "Every alarm_emails entry must be an e-mail address."
  }
}

variable "aurora_instance_identifiers" {
  description = "Identifiers of the Aurora instances to watch (validated by the alarm-plan module)."
  type        = list(string)
}

variable "redis_member_ids" {
  description = "Cache cluster ids of the Redis members to watch (validated by the alarm-plan module)."
  type        = list(string)
}

variable "cluster_name" {
  description = "EKS cluster whose Container Insights node metrics are watched (validated by the alarm-plan module)."
  type        = string
}

variable "thresholds" {
  description = "Alarm thresholds, as produced by the thresholds module (validated by the alarm-plan module)."
  type = object({
    aurora_cpu_percent            = number
    aurora_connections            = number
    aurora_replica_lag_ms         = number
    redis_cpu_percent             = number
    redis_memory_percent          = number
    redis_evictions               = number
    redis_replication_lag_seconds = number
    node_group_min_ready_nodes    = number
  })
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
