variable "aurora_instance_identifiers" {
  description = "Identifiers of the Aurora instances to watch."
  type        = list(string)

  validation {
    condition     = length(var.aurora_instance_identifiers) >= 2
    error_message = "Expect at least two Aurora instances (writer and reader)."
  }
}

variable "redis_member_ids" {
  description = "Cache cluster ids of the Redis members to watch."
  type        = list(string)

  validation {
    condition     = length(var.redis_member_ids) >= 2
    error_message = "Expect at least two Redis members (primary and replica)."
  }
}

variable "cluster_name" {
  description = "EKS cluster whose Container Insights node metrics are watched."
  type        = string

  validation {
    condition     = length(var.cluster_name) > 0
    error_message = "The cluster_name must not be empty."
  }
}

variable "thresholds" {
  description = "Alarm thresholds, as produced by the thresholds module."
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

  validation {
    condition     = var.thresholds.node_group_min_ready_nodes >= 2 && var.thresholds.aurora_connections > 0
    error_message = "The node threshold must be at least 2 and the connections threshold positive."
  }
}
