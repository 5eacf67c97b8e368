# Numbers derived from the service sizing: the Aurora max_connections that the
# cluster parameter group sets, and the thresholds of the CloudWatch alarms.
locals {
  # Default max_connections that Aurora MySQL derives from the memory of each
  # class. Setting more than this risks running the instance out of memory, so
  # it is the ceiling the planned connection budget must fit under.
  class_connection_ceiling = {
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

  # Every pod may fill its pool at once; the reserve and headroom come on top.
  pool_demand     = var.service_max_pods * var.db_pool_size_per_pod
  max_connections = ceil((local.pool_demand + var.reserved_connections) * (100 + var.connection_headroom_percent) / 100)

  # The connections alarm fires once the pools have opened every connection
  # they are planned for: past that point only a leak or a mis-sized
  # deployment can add more.
  connections_alarm = local.pool_demand + var.reserved_connections
}
