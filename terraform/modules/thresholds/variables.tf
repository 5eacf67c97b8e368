variable "aurora_instance_class" {
  description = "Aurora MySQL instance class. Only classes whose connection ceiling is known to this module are accepted."
  type        = string
  default     = "db.r6g.large"

  validation {
    condition     = can(regex("^db\\.(t4g\\.medium|r[67]g\\.(large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge))$", var.aurora_instance_class))
    error_message = "The aurora_instance_class must be db.t4g.medium or a db.r6g / db.r7g class from large to 16xlarge."
  }
}

variable "service_max_pods" {
  description = "Largest number of service pods that can run at once (all TicketEvent deployments at peak plus the shared API)."
  type        = number
  default     = 24

  validation {
    condition     = var.service_max_pods >= 2 && floor(var.service_max_pods) == var.service_max_pods
    error_message = "The service_max_pods must be a whole number of at least 2."
  }
}

variable "db_pool_size_per_pod" {
  description = "Maximum MySQL connections one service pod opens: its --db-max-connections / TICKETING_DB_MAX_CONNECTIONS (16 by default)."
  type        = number
  default     = 16

  validation {
    condition     = var.db_pool_size_per_pod >= 1 && var.db_pool_size_per_pod <= 200 && floor(var.db_pool_size_per_pod) == var.db_pool_size_per_pod
    error_message = "The db_pool_size_per_pod must be a whole number between 1 and 200."
  }
}

variable "reserved_connections" {
  description = "Connections kept for everything but the service pools: migrations, operators on call, monitoring, RDS itself."
  type        = number
  default     = 30

  validation {
    condition     = var.reserved_connections >= 10
    error_message = "Keep at least 10 reserved connections so that an operator can still log in when the pools are full."
  }
}

variable "connection_headroom_percent" {
  description = "Extra max_connections above the planned demand, in percent, for pods that overlap during a rolling update."
  type        = number
  default     = 25

  validation {
    condition     = var.connection_headroom_percent >= 10 && var.connection_headroom_percent <= 100
    error_message = "The connection_headroom_percent must be between 10 and 100."
  }
}

variable "cpu_alarm_percent" {
  description = "CPU utilisation (percent) above which the Aurora and Redis CPU alarms fire."
  type        = number
  default     = 80

  validation {
    condition     = var.cpu_alarm_percent >= 50 && var.cpu_alarm_percent <= 95
    error_message = "The cpu_alarm_percent must be between 50 and 95: lower is noise, higher leaves no time to react."
  }
}

variable "replica_lag_alarm_ms" {
  description = "Aurora replica lag (milliseconds) above which the replica lag alarm fires."
  type        = number
  default     = 1000

  validation {
    condition     = var.replica_lag_alarm_ms >= 100 && var.replica_lag_alarm_ms <= 60000
    error_message = "The replica_lag_alarm_ms must be between 100 and 60000."
  }
}

variable "redis_memory_alarm_percent" {
  description = "Redis memory use (percent of maxmemory) above which the memory alarm fires."
  type        = number
  default     = 80

  validation {
    condition     = var.redis_memory_alarm_percent >= 50 && var.redis_memory_alarm_percent <= 95
    error_message = "The redis_memory_alarm_percent must be between 50 and 95."
  }
}

variable "redis_replication_lag_alarm_seconds" {
  description = "Redis replica lag (seconds) above which the replication lag alarm fires."
  type        = number
  default     = 5

  validation {
    condition     = var.redis_replication_lag_alarm_seconds >= 1 && var.redis_replication_lag_alarm_seconds <= 300
    error_message = "The redis_replication_lag_alarm_seconds must be between 1 and 300."
  }
}

variable "node_min_size" {
  description = "Minimum size of the EKS node group; the node health alarm fires when fewer nodes are ready."
  type        = number
  default     = 2

  validation {
    condition     = var.node_min_size >= 2 && floor(var.node_min_size) == var.node_min_size
    error_message = "The node_min_size must be a whole number of at least 2 so that one node can fail."
  }
}
