# The alarm plan: every CloudWatch alarm of the stack as data (namespace,
# metric, statistic, dimensions, comparison, threshold, missing-data policy),
# keyed by a stable name. The alarms module turns each entry into an alarm.
locals {
  t = var.thresholds

  aurora_alarms = merge([
    for id in var.aurora_instance_identifiers : {
      "aurora-cpu-${id}" = {
        namespace   = "AWS/RDS", metric = "CPUUtilization", statistic = "Average"
        dimensions  = { DBInstanceIdentifier = id }, comparison = "GreaterThanThreshold"
        threshold   = local.t.aurora_cpu_percent, missing = "missing"
        description = "CPU of Aurora instance ${id} above ${local.t.aurora_cpu_percent}%."
      }
      "aurora-connections-${id}" = {
        namespace   = "AWS/RDS", metric = "DatabaseConnections", statistic = "Maximum"
        dimensions  = { DBInstanceIdentifier = id }, comparison = "GreaterThanThreshold"
        threshold   = local.t.aurora_connections, missing = "missing"
        description = "Connections to Aurora instance ${id} above the planned pool total (${local.t.aurora_connections})."
      }
      # Only readers report replica lag, and the writer may change after a
      # failover, so every instance has the alarm and missing data is fine.
      "aurora-replica-lag-${id}" = {
        namespace   = "AWS/RDS", metric = "AuroraReplicaLag", statistic = "Maximum"
        dimensions  = { DBInstanceIdentifier = id }, comparison = "GreaterThanThreshold"
        threshold   = local.t.aurora_replica_lag_ms, missing = "notBreaching"
        description = "Replica lag of Aurora instance ${id} above ${local.t.aurora_replica_lag_ms} ms."
      }
    }
  ]...)

  redis_alarms = merge([
    for id in var.redis_member_ids : {
      "redis-cpu-${id}" = {
        namespace   = "AWS/ElastiCache", metric = "EngineCPUUtilization", statistic = "Average"
        dimensions  = { CacheClusterId = id }, comparison = "GreaterThanThreshold"
        threshold   = local.t.redis_cpu_percent, missing = "missing"
        description = "Redis engine CPU of ${id} above ${local.t.redis_cpu_percent}%."
      }
      "redis-memory-${id}" = {
        namespace   = "AWS/ElastiCache", metric = "DatabaseMemoryUsagePercentage", statistic = "Maximum"
        dimensions  = { CacheClusterId = id }, comparison = "GreaterThanThreshold"
        threshold   = local.t.redis_memory_percent, missing = "missing"
        description = "Redis memory use of ${id} above ${local.t.redis_memory_percent}% of maxmemory."
      }
      "redis-evictions-${id}" = {
        namespace   = "AWS/ElastiCache", metric = "Evictions", statistic = "Sum"
        dimensions  = { CacheClusterId = id }, comparison = "GreaterThanThreshold"
        threshold   = local.t.redis_evictions, missing = "notBreaching"
        description = "Redis ${id} evicted keys: memory is too small for the working set."
      }
      # Only replicas report replication lag.
      "redis-replication-lag-${id}" = {
        namespace   = "AWS/ElastiCache", metric = "ReplicationLag", statistic = "Maximum"
        dimensions  = { CacheClusterId = id }, comparison = "GreaterThanThreshold"
        threshold   = local.t.redis_replication_lag_seconds, missing = "notBreaching"
        description = "Redis replica ${id} lags more than ${local.t.redis_replication_lag_seconds} s behind the primary."
      }
    }
  ]...)

  # Node health from Container Insights (the amazon-cloudwatch-observability
  # add-on). Missing data breaches: no metrics means nobody watches the nodes.
  node_alarms = {
    "nodes-ready" = {
      namespace   = "ContainerInsights", metric = "cluster_node_count", statistic = "Minimum"
      dimensions  = { ClusterName = var.cluster_name }, comparison = "LessThanThreshold"
      threshold   = local.t.node_group_min_ready_nodes, missing = "breaching"
      description = "Fewer than ${local.t.node_group_min_ready_nodes} nodes in cluster ${var.cluster_name}."
    }
    "nodes-failed" = {
      namespace   = "ContainerInsights", metric = "cluster_failed_node_count", statistic = "Maximum"
      dimensions  = { ClusterName = var.cluster_name }, comparison = "GreaterThanThreshold"
      threshold   = 0, missing = "breaching"
      description = "A node of cluster ${var.cluster_name} is not ready."
    }
  }

  alarms = merge(local.aurora_alarms, local.redis_alarms, local.node_alarms)
}

