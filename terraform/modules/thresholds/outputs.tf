output "aurora_max_connections" {
  description = "Value of max_connections for the Aurora cluster parameter group."
  value       = local.max_connections

  precondition {
    condition     = local.max_connections <= local.class_connection_ceiling[var.aurora_instance_class]
    error_message = "The service pools need more connections than the Aurora instance class can hold: choose a larger class or smaller pools."
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
