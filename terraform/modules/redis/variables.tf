variable "name" {
  description = "Replication group id; the parameter group, log group and secret are named after it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "The name must be 2-40 lowercase letters, digits or single hyphens, start with a letter and not end with a hyphen."
  }
}

variable "engine_version" {
  description = "Redis engine version (7.x)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.engine_version))
    error_message = "The engine_version must be a Redis 7 version such as 7.1."
  }
}

variable "node_type" {
  description = "Cache node type of every member."
  type        = string
  default     = "cache.r7g.large"

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "The node_type must be an ElastiCache node type (cache.*)."
  }
}

variable "num_cache_clusters" {
  description = "Members of the replication group: one primary and the rest replicas, placed round-robin over var.azs. At least two so that a replica can take over."
  type        = number
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 2 && var.num_cache_clusters <= 6
    error_message = "The num_cache_clusters must be between 2 and 6: automatic failover needs a replica."
  }
}

variable "azs" {
  description = "Availability zones for the members, at least two; member i goes to azs[i % length(azs)]."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(distinct(var.azs)) == length(var.azs)
    error_message = "Give at least two distinct availability zones so that the primary and a replica are apart."
  }
}

variable "port" {
  description = "Port Redis listens on."
  type        = number
  default     = 6379

  validation {
    condition     = var.port >= 1024 && var.port <= 65535
    error_message = "The port must be between 1024 and 65535."
  }
}

variable "subnet_group_name" {
  description = "ElastiCache subnet group over the database subnets of at least two AZs."
  type        = string

  validation {
    condition     = length(var.subnet_group_name) > 0
    error_message = "The subnet_group_name must not be empty."
  }
}

variable "security_group_id" {
  description = "Security group of the replication group, open to the EKS nodes only."
  type        = string

  validation {
    condition     = startswith(var.security_group_id, "sg-")
    error_message = "The security_group_id must be a security group ID (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for data at rest, the slow log and the auth token secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots to keep."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 1 && var.snapshot_retention_days <= 35
    error_message = "Keep between 1 and 35 days of snapshots."
  }
}

variable "log_retention_days" {
  description = "Days to keep the slow log."
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
