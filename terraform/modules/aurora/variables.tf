variable "name" {
  description = "Cluster identifier of the Aurora cluster; instances and groups are named after it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,50}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "The name must be 3-52 lowercase letters, digits or single hyphens, start with a letter and not end with a hyphen."
  }
}

variable "engine_version" {
  description = "Aurora MySQL 3 engine version the cluster is created with: a minimum, since AWS applies later minor versions itself and the module never reverts them. 3.10 is a long-term support release (MySQL 8.0.42)."
  type        = string
  default     = "8.0.mysql_aurora.3.10.0"

  validation {
    condition     = can(regex("^8\\.0\\.mysql_aurora\\.3\\.[0-9]{2}\\.[0-9]+$", var.engine_version))
    error_message = "The engine_version must be an Aurora MySQL 3 version such as 8.0.mysql_aurora.3.10.0."
  }
}

variable "instance_class" {
  description = "Instance class of the writer and the readers."
  type        = string
  default     = "db.r6g.large"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "The instance_class must be an RDS instance class (db.*)."
  }
}

variable "instance_count" {
  description = "Number of instances: one writer and the rest readers, placed round-robin over var.azs. At least two, so that a reader in another AZ can take over."
  type        = number
  default     = 2

  validation {
    condition     = var.instance_count >= 2 && var.instance_count <= 16
    error_message = "The instance_count must be between 2 and 16: a single instance has no failover target."
  }
}

variable "azs" {
  description = "Availability zones for the instances, at least two; instance i goes to azs[i % length(azs)]."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(distinct(var.azs)) == length(var.azs)
    error_message = "Give at least two distinct availability zones so that the writer and the reader are apart."
  }
}

variable "database_name" {
  description = "Name of the database the service uses."
  type        = string
  default     = "ticketing"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,63}$", var.database_name))
    error_message = "The database_name must be 1-64 lowercase letters, digits or underscores, starting with a letter."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and kept by RDS in Secrets Manager, never in Terraform state."
  type        = string
  default     = "ticketing_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.master_username)) && !contains(["admin", "root", "rdsadmin"], var.master_username)
    error_message = "The master_username must be 1-16 lowercase letters, digits or underscores, start with a letter and not be a reserved name."
  }
}

variable "port" {
  description = "Port MySQL listens on."
  type        = number
  default     = 3306

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "Aurora accepts ports from 1150 to 65535."
  }
}

variable "max_connections" {
  description = "Value of max_connections, sized for the service's connection pools (see the thresholds module)."
  type        = number

  validation {
    condition     = var.max_connections >= 50 && var.max_connections <= 16000
    error_message = "The max_connections must be between 50 and 16000."
  }
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "Keep between 7 and 35 days of backups."
  }
}

variable "preferred_backup_window" {
  description = "Daily UTC window for automated backups, hh24:mi-hh24:mi."
  type        = string
  default     = "02:00-03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.preferred_backup_window))
    error_message = "The preferred_backup_window must look like 02:00-03:00."
  }
}

variable "preferred_maintenance_window" {
  description = "Weekly UTC maintenance window, ddd:hh24:mi-ddd:hh24:mi; must not overlap the backup window."
  type        = string
  default     = "sun:04:00-sun:05:00"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$", var.preferred_maintenance_window))
    error_message = "The preferred_maintenance_window must look like sun:04:00-sun:05:00."
  }
}

variable "slow_query_seconds" {
  description = "Queries slower than this many seconds go to the slow query log (long_query_time)."
  type        = number
  default     = 1

  validation {
    condition     = var.slow_query_seconds > 0 && var.slow_query_seconds <= 10
    error_message = "The slow_query_seconds must be above 0 and at most 10."
  }
}

variable "log_retention_days" {
  description = "Days to keep the exported audit, error and slow query logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a retention period that CloudWatch Logs accepts, such as 30, 90 or 365."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster until this is turned off."
  type        = bool
  default     = true
}

variable "db_subnet_group_name" {
  description = "RDS subnet group over the database subnets of at least two AZs."
  type        = string

  validation {
    condition     = length(var.db_subnet_group_name) > 0
    error_message = "The db_subnet_group_name must not be empty."
  }
}

variable "security_group_id" {
  description = "Security group of the cluster, open to the EKS nodes only."
  type        = string

  validation {
    condition     = startswith(var.security_group_id, "sg-")
    error_message = "The security_group_id must be a security group ID (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for the storage, the master user secret and Performance Insights."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags merged into every resource of this module."
  type        = map(string)
  default     = {}
}
