# Tests for the connection budget and the alarm thresholds. No provider is involved.

run "defaults_size_max_connections_for_the_pools" {
  command = plan

  # 24 pods x 16 connections = 384, plus 30 reserved = 414, plus 25% = 517.5.
  assert {
    condition     = output.aurora_max_connections == 518
    error_message = "max_connections must be the pool demand plus reserve plus headroom, rounded up."
  }

  assert {
    condition     = output.alarm_thresholds.aurora_connections == 414
    error_message = "The connections alarm must fire when the pools are full."
  }

  assert {
    condition     = output.alarm_thresholds.aurora_connections < output.aurora_max_connections
    error_message = "The connections alarm must fire before max_connections is reached."
  }
}

run "thresholds_follow_the_inputs" {
  command = plan

  variables {
    cpu_alarm_percent                   = 70
    replica_lag_alarm_ms                = 500
    redis_memory_alarm_percent          = 75
    redis_replication_lag_alarm_seconds = 10
    node_min_size                       = 3
  }

  assert {
    condition = output.alarm_thresholds == {
      aurora_cpu_percent            = 70
      aurora_connections            = 414
      aurora_replica_lag_ms         = 500
      redis_cpu_percent             = 70
      redis_memory_percent          = 75
      redis_evictions               = 0
      redis_replication_lag_seconds = 10
      node_group_min_ready_nodes    = 3
    }
    error_message = "Every alarm threshold must come from its input."
  }
}

run "pools_too_big_for_the_class_are_rejected" {
  command = plan

  variables {
    aurora_instance_class = "db.t4g.medium"
  }

  expect_failures = [output.aurora_max_connections]
}

run "a_larger_class_fits_a_larger_fleet" {
  command = plan

  variables {
    aurora_instance_class = "db.r6g.2xlarge"
    service_max_pods      = 120
  }

  # 120 x 16 = 1920, plus 30 = 1950, plus 25% = 2437.5.
  assert {
    condition     = output.aurora_max_connections == 2438
    error_message = "max_connections must scale with the number of pods."
  }
}

run "unknown_instance_class_is_rejected" {
  command = plan

  variables {
    aurora_instance_class = "db.m5.large"
  }

  expect_failures = [var.aurora_instance_class]
}

run "single_node_group_is_rejected" {
  command = plan

  variables {
    node_min_size = 1
  }

  expect_failures = [var.node_min_size]
}

run "single_pod_is_rejected" {
  command = plan

  variables {
    service_max_pods = 1
  }

  expect_failures = [var.service_max_pods]
}

run "cpu_threshold_out_of_range_is_rejected" {
  command = plan

  variables {
    cpu_alarm_percent = 99
  }

  expect_failures = [var.cpu_alarm_percent]
}

run "replica_lag_threshold_out_of_range_is_rejected" {
  command = plan

  variables {
    replica_lag_alarm_ms = 10
  }

  expect_failures = [var.replica_lag_alarm_ms]
}

run "too_few_reserved_connections_are_rejected" {
  command = plan

  variables {
    reserved_connections = 2
  }

  expect_failures = [var.reserved_connections]
}
