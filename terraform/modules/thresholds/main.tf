# Numbers derived from the service sizing at the peak: the Aurora
# max_connections that the instance parameter group sets, the nodes the node
# group must be allowed to grow to, and the thresholds of the CloudWatch
# alarms.
locals {
  # Default max_connections that Aurora MySQL derives from the memory of each
  # class (the AuroraMySQL.Managing.MaxConnections table of the Aurora user
  # guide). More than this risks running the instance out of memory, so it is
  # the ceiling the planned connections must fit under unless
  # aurora_max_connections raises it deliberately.
  class_max_connections = {
    "db.t4g.medium"   = 90
    "db.r6g.large"    = 1000
    "db.r6g.xlarge"   = 2000
    "db.r6g.2xlarge"  = 3000
    "db.r6g.4xlarge"  = 4000
    "db.r6g.8xlarge"  = 5000
    "db.r6g.12xlarge" = 6000
    "db.r6g.16xlarge" = 6000
    "db.r7g.large"    = 1000
    "db.r7g.xlarge"   = 2000
    "db.r7g.2xlarge"  = 3000
    "db.r7g.4xlarge"  = 4000
    "db.r7g.8xlarge"  = 5000
    "db.r7g.12xlarge" = 6000
    "db.r7g.16xlarge" = 6000
  }

  # The operator never lets an event's autoscaler maximum fall below its peak
  # floor, so an on-sale runs at most the larger of the two.
  on_sale_pods = { for sale in var.concurrent_on_sales : sale.name => max(sale.peak_replicas, sale.max_replicas) }
  peak_pods    = sum(concat([var.api_max_replicas], values(local.on_sale_pods)))

  # The CPU the peak's pods request, and the nodes that the Cluster Autoscaler
  # must be allowed to add to schedule them.
  peak_cpu = sum(concat(
    [var.api_max_replicas * var.api_cpu_millicores, var.system_cpu_millicores],
    [for sale in var.concurrent_on_sales : local.on_sale_pods[sale.name] * sale.cpu_millicores],
  ))
  peak_nodes = ceil(local.peak_cpu / var.node_pod_cpu_millicores)

  # Every pod may fill its pool at once; the reserve and headroom come on top.
  pool_demand = local.peak_pods * var.db_pool_size_per_pod
  needed      = ceil((local.pool_demand + var.reserved_connections) * (100 + var.connection_headroom_percent) / 100)

  ceiling         = coalesce(var.aurora_max_connections, local.class_max_connections[var.aurora_instance_class])
  max_connections = coalesce(var.aurora_max_connections, local.needed)

  # The connections alarm fires once the pools have opened every connection
  # they are planned for: past that point only a leak or a mis-sized
  # deployment can add more.
  connections_alarm = local.pool_demand + var.reserved_connections
}
