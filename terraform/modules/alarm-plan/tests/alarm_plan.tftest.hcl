# Tests for the alarm plan: which alarms exist and what each one watches.
# No provider is involved.

variables {
  aurora_instance_identifiers = ["db-0", "db-1"]
  redis_member_ids            = ["cache-001", "cache-002"]
  cluster_name                = "eks"
  thresholds = {
    aurora_cpu_percent            = 80
    aurora_connections            = 414
    aurora_replica_lag_ms         = 1000
    redis_cpu_percent             = 75
    redis_memory_percent          = 85
    redis_evictions               = 0
    redis_replication_lag_seconds = 5
    node_group_min_ready_nodes    = 2
  }
}

run "every_instance_member_and_the_nodes_are_watched" {
  command = plan

  # Three per Aurora instance, four per Redis member, two for the nodes.
  assert {
    condition     = length(output.alarms) == 2 * 3 + 2 * 4 + 2
    error_message = "Expected 16 alarms for two Aurora instances and two Redis members."
  }

  assert {
    condition = alltrue([for key in [
      "aurora-cpu-db-0", "aurora-connections-db-1", "aurora-replica-lag-db-1",
      "redis-cpu-cache-001", "redis-memory-cache-002", "redis-evictions-cache-001", "redis-replication-lag-cache-002",
      "nodes-ready", "nodes-failed",
    ] : contains(keys(output.alarms), key)])
    error_message = "An expected alarm key is missing."
  }
}

run "each_alarm_watches_its_metric_with_its_threshold" {
  command = plan

  assert {
    condition = (
      output.alarms["aurora-cpu-db-0"].metric == "CPUUtilization" &&
      output.alarms["aurora-cpu-db-0"].threshold == 80 &&
      output.alarms["aurora-cpu-db-0"].dimensions == { DBInstanceIdentifier = "db-0" }
    )
    error_message = "The Aurora CPU alarm must watch CPUUtilization of its own instance at the CPU threshold."
  }

  assert {
    condition     = output.alarms["aurora-connections-db-1"].metric == "DatabaseConnections" && output.alarms["aurora-connections-db-1"].threshold == 414
    error_message = "The connections alarm must use the pool-total threshold."
  }

  assert {
    condition     = output.alarms["aurora-replica-lag-db-1"].metric == "AuroraReplicaLag" && output.alarms["aurora-replica-lag-db-1"].threshold == 1000
    error_message = "The replica lag alarm must use the replica lag threshold in milliseconds."
  }

  assert {
    condition = (
      output.alarms["redis-cpu-cache-001"].metric == "EngineCPUUtilization" && output.alarms["redis-cpu-cache-001"].threshold == 75 &&
      output.alarms["redis-memory-cache-002"].metric == "DatabaseMemoryUsagePercentage" && output.alarms["redis-memory-cache-002"].threshold == 85 &&
      output.alarms["redis-evictions-cache-001"].metric == "Evictions" && output.alarms["redis-evictions-cache-001"].threshold == 0 &&
      output.alarms["redis-replication-lag-cache-002"].metric == "ReplicationLag" && output.alarms["redis-replication-lag-cache-002"].threshold == 5
    )
    error_message = "Each Redis alarm must watch its metric with its threshold."
  }

  assert {
    condition = (
      output.alarms["nodes-ready"].comparison == "LessThanThreshold" &&
      output.alarms["nodes-ready"].threshold == 2 &&
      output.alarms["nodes-ready"].dimensions == { ClusterName = "eks" }
    )
    error_message = "The node alarm must fire below the node group minimum."
  }
}

run "missing_data_policy_matches_who_reports_the_metric" {
  command = plan

  # Only readers and replicas report lag, and roles change on failover.
  assert {
    condition     = output.alarms["aurora-replica-lag-db-0"].missing == "notBreaching" && output.alarms["redis-replication-lag-cache-001"].missing == "notBreaching"
    error_message = "Lag alarms must not fire on the writer or primary, which report no lag."
  }

  # No node metrics means nobody watches the nodes.
  assert {
    condition     = output.alarms["nodes-ready"].missing == "breaching" && output.alarms["nodes-failed"].missing == "breaching"
    error_message = "Node alarms must treat missing data as breaching."
  }
}

run "a_third_reader_gets_its_own_alarms" {
  command = plan

  variables {
    aurora_instance_identifiers = ["db-0", "db-1", "db-2"]
  }

  assert {
    condition     = length(output.alarms) == 19 && contains(keys(output.alarms), "aurora-replica-lag-db-2")
    error_message = "Adding an instance must add its three alarms."
  }
}

run "a_single_aurora_instance_is_rejected" {
  command = plan

  variables {
    aurora_instance_identifiers = ["db-0"]
  }

  expect_failures = [var.aurora_instance_identifiers]
}

run "a_single_redis_member_is_rejected" {
  command = plan

  variables {
    redis_member_ids = ["cache-001"]
  }

  expect_failures = [var.redis_member_ids]
}

run "a_node_threshold_below_two_is_rejected" {
  command = plan

  variables {
    thresholds = {
      aurora_cpu_percent            = 80
      aurora_connections            = 414
      aurora_replica_lag_ms         = 1000
      redis_cpu_percent             = 75
      redis_memory_percent          = 85
      redis_evictions               = 0
      redis_replication_lag_seconds = 5
      node_group_min_ready_nodes    = 1
    }
  }

  expect_failures = [var.thresholds]
}
