output "peak_service_pods" {
  description = "Service pods at the peak: every concurrent on-sale at its ceiling plus the shared API at its maximum."
  value       = local.peak_pods
}

output "peak_pool_connections" {
  description = "Connections the service pools may hold at the peak: peak_service_pods times db_pool_size_per_pod."
  value       = local.pool_demand
}

output "aurora_class_max_connections" {
  description = "Default max_connections of the chosen Aurora instance class."
  value       = local.class_max_connections[var.aurora_instance_class]
}

output "aurora_max_connections" {
  description = "Value of max_connections for the Aurora instance parameter group: the planned need, or aurora_max_connections when set."
  value       = local.max_connections

  precondition {
    condition     = local.needed <= local.ceiling
    error_message = "The peak needs ${local.needed} database connections (${local.peak_pods} pods x ${var.db_pool_size_per_pod} per pod, plus ${var.reserved_connections} reserved, plus ${var.connection_headroom_percent}% headroom), more than the ${local.ceiling} that ${var.aurora_instance_class}${var.aurora_max_connections == null ? "" : " with aurora_max_connections"} allows: choose a larger aurora_instance_class, raise aurora_max_connections, or lower the pool size or the replicas."
  }
}

output "peak_cpu_millicores" {
  description = "CPU requested at the peak: the on-sales and the API at their maximum plus the cluster's own Deployments."
  value       = local.peak_cpu
}

output "peak_nodes" {
  description = "Nodes needed to schedule the peak's CPU requests."
  value       = local.peak_nodes

  precondition {
    condition     = local.peak_nodes <= var.node_max_size
    error_message = "The peak requests ${local.peak_cpu}m of CPU, which takes ${local.peak_nodes} nodes of ${var.node_pod_cpu_millicores}m, more than node_max_size (${var.node_max_size}): the Cluster Autoscaler would leave pods Pending during the sale. Raise node_max_size or use larger node_instance_types (and node_pod_cpu_millicores)."
  }
}

output "alarm_thresholds" {
  description = "Thresholds of the CloudWatch alarms, keyed by alarm."
  value = {
    aurora_cpu_percent            = var.cpu_alarm_percent
    aurora_connections            = local.connections_alarm
    aurora_replica_lag_ms         = var.replica_lag_alarm_ms
    redis_cpu_percent             = var.cpu_alarm_percent
    redis_memory_percent          = var.redis_memory_alarm_percent
    redis_evictions               = 0
    redis_replication_lag_seconds = var.redis_replication_lag_alarm_seconds
    node_group_min_ready_nodes    = var.node_min_size
  }
}
