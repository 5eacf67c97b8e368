variable "aurora_instance_class" {
  description = "Aurora MySQL instance class. Only classes whose connection ceiling is known to this module are accepted."
  type        = string
  default     = "db.r6g.large"

  validation {
    condition     = can(regex("^db\\.(t4g\\.medium|r[67]g\\.(large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge))$", var.aurora_instance_class))
    error_message = "The aurora_instance_class must be db.t4g.medium or a db.r6g / db.r7g class from large to 16xlarge."
  }
}

variable "concurrent_on_sales" {
  description = "Every TicketEvent whose sale may be at its peak at the same time as the others: its name, spec.scaling.peakReplicas, spec.scaling.hpa.maxReplicas and the CPU request of one pod in millicores (spec.service.resources, else the chart's eventService.cpuRequest, 250m). The operator runs at most the larger of the two replica counts."
  type = list(object({
    name           = string
    peak_replicas  = number
    max_replicas   = number
    cpu_millicores = optional(number, 250)
  }))

  validation {
    condition     = length(var.concurrent_on_sales) >= 1
    error_message = "Give at least one on-sale: the connection budget is sized for the peak of the sales that may run at once."
  }

  validation {
    condition     = length(distinct([for sale in var.concurrent_on_sales : sale.name])) == length(var.concurrent_on_sales)
    error_message = "Each on-sale must be named once."
  }

  validation {
    condition = alltrue([for sale in var.concurrent_on_sales :
      can(regex("^[a-z]([-a-z0-9]*[a-z0-9])?$", sale.name))
      && sale.peak_replicas >= 1 && floor(sale.peak_replicas) == sale.peak_replicas
      && sale.max_replicas >= 1 && floor(sale.max_replicas) == sale.max_replicas
      && sale.cpu_millicores >= 1 && floor(sale.cpu_millicores) == sale.cpu_millicores
    ])
    error_message = "Each on-sale needs a TicketEvent name and whole peak_replicas, max_replicas and cpu_millicores of at least 1."
  }
}

variable "api_max_replicas" {
  description = "Largest number of shared API pods: the chart's api.autoscaling.maxReplicas (api.replicas when its autoscaler is off)."
  type        = number
  default     = 10

  validation {
    condition     = var.api_max_replicas >= 1 && floor(var.api_max_replicas) == var.api_max_replicas
    error_message = "The api_max_replicas must be a whole number of at least 1."
  }
}

variable "api_cpu_millicores" {
  description = "CPU request of one shared API pod in millicores (the chart's api.resources.requests.cpu)."
  type        = number
  default     = 100

  validation {
    condition     = var.api_cpu_millicores >= 1 && floor(var.api_cpu_millicores) == var.api_cpu_millicores
    error_message = "The api_cpu_millicores must be a whole number of at least 1."
  }
}

variable "system_cpu_millicores" {
  description = "CPU requested by the cluster's own Deployments at the peak, in millicores: CoreDNS, metrics-server, the Cluster Autoscaler, the Load Balancer Controller, ExternalDNS and the operator."
  type        = number
  default     = 1000

  validation {
    condition     = var.system_cpu_millicores >= 0 && floor(var.system_cpu_millicores) == var.system_cpu_millicores
    error_message = "The system_cpu_millicores must be a whole number."
  }
}

variable "node_pod_cpu_millicores" {
  description = "CPU one node offers to those pods, in millicores: its allocatable CPU less the requests of the DaemonSets on every node. 1,400 for the default m6i.large (2,000m, 70m kept by the kubelet, the rest for the VPC CNI, kube-proxy, the Pod Identity and CloudWatch agents)."
  type        = number
  default     = 1400

  validation {
    condition     = var.node_pod_cpu_millicores >= 500 && floor(var.node_pod_cpu_millicores) == var.node_pod_cpu_millicores
    error_message = "The node_pod_cpu_millicores must be a whole number of at least 500."
  }
}

variable "node_max_size" {
  description = "Maximum size of the EKS node group: the Cluster Autoscaler adds no node beyond it."
  type        = number
  default     = 10

  validation {
    condition     = var.node_max_size >= 2 && floor(var.node_max_size) == var.node_max_size
    error_message = "The node_max_size must be a whole number of at least 2."
  }
}

variable "db_pool_size_per_pod" {
  description = "Maximum MySQL connections one service pod opens: its --db-max-connections / TICKETING_DB_MAX_CONNECTIONS (16 by default, in service/src/config.rs)."
  type        = number
  default     = 16

  validation {
    condition     = var.db_pool_size_per_pod >= 1 && var.db_pool_size_per_pod <= 200 && floor(var.db_pool_size_per_pod) == var.db_pool_size_per_pod
    error_message = "The db_pool_size_per_pod must be a whole number between 1 and 200."
  }
}

variable "aurora_max_connections" {
  description = "An explicit max_connections for the Aurora instances, above the instance class default when the memory allows it (Aurora accepts up to 16000); null keeps the class default as the ceiling and sets the planned need."
  type        = number
  default     = null

  validation {
    condition     = var.aurora_max_connections == null || try(var.aurora_max_connections >= 50 && var.aurora_max_connections <= 16000 && floor(var.aurora_max_connections) == var.aurora_max_connections, false)
    error_message = "The aurora_max_connections must be null or a whole number between 50 and 16000."
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
