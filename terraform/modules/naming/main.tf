# Names for every component, derived from one prefix so that resources of one
# deployment sort together and never collide with another environment.
# The tightest AWS limit is the ElastiCache replication group id (40
# characters); the prefix is at most 24 characters, which leaves room for the
# longest suffix used here.
locals {
  prefix = "${var.project}-${var.environment}"

  names = {
    vpc     = "${local.prefix}-vpc"
    cluster = "${local.prefix}-eks"
    aurora  = "${local.prefix}-aurora"
    redis   = "${local.prefix}-redis"
    alarms  = "${local.prefix}-alarms"
    waf     = "${local.prefix}-waf"
  }

  # Caller tags first, so that the standard tags cannot be overridden.
  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
