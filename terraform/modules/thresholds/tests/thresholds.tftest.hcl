# Tests for the connection budget and the alarm thresholds. No provider is involved.
#
# Peak pods = the ceiling of every on-sale that may peak at the same time (the
# larger of spec.scaling.peakReplicas and spec.scaling.hpa.maxReplicas) plus
# the shared API's maximum. Each pod may open db_pool_size_per_pod
# connections (the service's --db-max-connections, 16 by default).

variables {
  # helm/ticketing/examples/ticketevent-basic.yaml
  concurrent_on_sales = [
    { name = "spring-concert", peak_replicas = 3, max_replicas = 5 },
  ]
}

run "defaults_size_max_connections_for_the_pools" {
  command = plan

  # (5 event pods + 10 API pods) x 16 = 240, plus 30 reserved = 270, plus 25% = 337.5.
  assert {
    condition     = output.peak_service_pods == 15 && output.peak_pool_connections == 240
    error_message = "Peak pods must be the on-sale ceiling plus the API ceiling, each with a full pool."
  }

  assert {
    condition     = output.aurora_max_connections == 338
    error_message = "max_connections must be the pool demand plus reserve plus headroom, rounded up."
  }

  assert {
    condition     = output.alarm_thresholds.aurora_connections == 270
    error_message = "The connections alarm must fire when the pools are full."
  }

  assert {
    condition     = output.alarm_thresholds.aurora_connections < output.aurora_max_connections
    error_message = "The connections alarm must fire before max_connections is reached."
  }

  assert {
    condition     = output.aurora_class_max_connections == 1000
    error_message = "db.r6g.large holds 1000 connections by default."
  }
}

# helm/ticketing/examples/ticketevent-stadium.yaml alone: peakReplicas 20,
# hpa.maxReplicas 40. (40 + 10) x 16 = 800, plus 30 = 830, plus 25% = 1038,
# which db.r6g.large (1000 by default) cannot hold.
run "the_stadium_on_sale_exceeds_db_r6g_large" {
  command = plan

  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40 },
    ]
    aurora_instance_class = "db.r6g.large"
  }

  expect_failures = [output.aurora_max_connections]
}

run "the_stadium_on_sale_fits_db_r6g_xlarge" {
  command = plan

  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40 },
    ]
    aurora_instance_class = "db.r6g.xlarge"
  }

  assert {
    condition     = output.peak_service_pods == 50 && output.aurora_max_connections == 1038
    error_message = "The stadium's 40 pods and the API's 10 need 1038 connections."
  }
}

run "an_explicit_max_connections_lifts_the_class_ceiling" {
  command = plan

  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40 },
    ]
    aurora_instance_class  = "db.r6g.large"
    aurora_max_connections = 1200
  }

  assert {
    condition     = output.aurora_max_connections == 1200
    error_message = "An explicit max_connections is the value set on the instances."
  }
}

run "an_explicit_max_connections_below_the_need_is_rejected" {
  command = plan

  variables {
    aurora_instance_class  = "db.r6g.2xlarge"
    aurora_max_connections = 300
  }

  expect_failures = [output.aurora_max_connections]
}

run "larger_pools_need_a_larger_class" {
  command = plan

  # (40 + 10) x 32 = 1600, plus 30 = 1630, plus 25% = 2038 > 2000.
  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40 },
    ]
    aurora_instance_class = "db.r6g.xlarge"
    db_pool_size_per_pod  = 32
  }

  expect_failures = [output.aurora_max_connections]
}

run "concurrent_on_sales_add_up" {
  command = plan

  # Both example events peak together: 40 + 5 + 10 = 55 pods, 880 connections,
  # plus 30 = 910, plus 25% = 1137.5.
  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40 },
      { name = "spring-concert", peak_replicas = 3, max_replicas = 5 },
    ]
    aurora_instance_class = "db.r6g.xlarge"
  }

  assert {
    condition     = output.peak_service_pods == 55 && output.aurora_max_connections == 1138
    error_message = "Concurrent on-sales must be summed."
  }
}

run "a_peak_above_the_autoscaler_maximum_counts_the_peak" {
  command = plan

  # The operator raises the HPA maximum to the peak floor: 12 pods, not 8.
  variables {
    concurrent_on_sales = [
      { name = "derby", peak_replicas = 12, max_replicas = 8 },
    ]
    api_max_replicas = 4
  }

  assert {
    condition     = output.peak_service_pods == 16
    error_message = "An on-sale runs the larger of its peak and its autoscaler maximum."
  }
}

run "the_pool_size_scales_the_demand" {
  command = plan

  variables {
    db_pool_size_per_pod = 4
  }

  # 15 pods x 4 = 60, plus 30 = 90, plus 25% = 112.5.
  assert {
    condition     = output.peak_pool_connections == 60 && output.aurora_max_connections == 113
    error_message = "The demand must follow the pool size per pod."
  }
}

# The node group must hold the same peak. The stadium's 40 pods request 500m
# CPU each (its spec.service.resources) and the API's 10 pods 100m: 21,000m,
# plus 1,000m for the cluster's own Deployments, in nodes offering 1,400m to
# pods each = 16 nodes, beyond the default node_max_size of 10: the Cluster
# Autoscaler would stop there and leave pods Pending during the sale.
run "the_stadium_on_sale_exceeds_ten_nodes" {
  command = plan

  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40, cpu_millicores = 500 },
    ]
    aurora_instance_class = "db.r6g.xlarge"
  }

  expect_failures = [output.peak_nodes]
}

run "the_stadium_on_sale_fits_sixteen_nodes" {
  command = plan

  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40, cpu_millicores = 500 },
    ]
    aurora_instance_class = "db.r6g.xlarge"
    node_max_size         = 16
  }

  assert {
    condition     = output.peak_cpu_millicores == 22000 && output.peak_nodes == 16
    error_message = "21,000m of pods plus 1,000m of system Deployments need 16 nodes of 1,400m."
  }
}

run "larger_nodes_need_fewer_of_them" {
  command = plan

  # m6i.xlarge offers about twice the CPU of m6i.large.
  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40, cpu_millicores = 500 },
    ]
    aurora_instance_class   = "db.r6g.xlarge"
    node_pod_cpu_millicores = 3200
  }

  assert {
    condition     = output.peak_nodes == 7
    error_message = "22,000m in nodes of 3,200m is 7 nodes."
  }
}

run "an_on_sale_without_a_cpu_request_uses_the_chart_default" {
  command = plan

  # 5 pods x 250m (eventService.cpuRequest) + 10 x 100m + 1,000m = 3,250m: 3 nodes.
  assert {
    condition     = output.peak_cpu_millicores == 3250 && output.peak_nodes == 3
    error_message = "An on-sale without its own CPU request must count the chart's default, 250m."
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
      aurora_connections            = 270
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

run "unknown_instance_class_is_rejected" {
  command = plan

  variables {
    aurora_instance_class = "db.m5.large"
  }

  expect_failures = [var.aurora_instance_class]
}

run "no_on_sale_is_rejected" {
  command = plan

  variables {
    concurrent_on_sales = []
  }

  expect_failures = [var.concurrent_on_sales]
}

run "an_on_sale_named_twice_is_rejected" {
  command = plan

  variables {
    concurrent_on_sales = [
      { name = "stadium-final", peak_replicas = 20, max_replicas = 40 },
      { name = "stadium-final", peak_replicas = 2, max_replicas = 4 },
    ]
  }

  expect_failures = [var.concurrent_on_sales]
}

run "an_on_sale_without_replicas_is_rejected" {
  command = plan

  variables {
    concurrent_on_sales = [
      { name = "empty", peak_replicas = 0, max_replicas = 0 },
    ]
  }

  expect_failures = [var.concurrent_on_sales]
}

run "an_api_without_replicas_is_rejected" {
  command = plan

  variables {
    api_max_replicas = 0
  }

  expect_failures = [var.api_max_replicas]
}

run "max_connections_above_the_aurora_limit_is_rejected" {
  command = plan

  variables {
    aurora_max_connections = 20000
  }

  expect_failures = [var.aurora_max_connections]
}

run "a_node_too_small_for_any_pod_is_rejected" {
  command = plan

  variables {
    node_pod_cpu_millicores = 50
  }

  expect_failures = [var.node_pod_cpu_millicores]
}

run "single_node_group_is_rejected" {
  command = plan

  variables {
    node_min_size = 1
  }

  expect_failures = [var.node_min_size]
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
