# ElastiCache Redis for the service's cache, sold-out hints, rate limits and
# leases: a primary and at least one replica in another AZ with automatic
# failover, TLS in transit, encryption at rest, and an auth token that is kept
# in Secrets Manager next to the full connection URL.

resource "random_password" "auth_token" {
  length  = 64
  special = false
}

resource "aws_elasticache_parameter_group" "this" {
  name        = var.name
  family      = "redis7"
  description = "Parameters of ${var.name}."

  # Only keys with a TTL (cached reads, hints, rate-limit windows) may be
  # evicted under memory pressure; the evictions alarm reports any eviction.
  parameter {
    name  = "maxmemory-policy"
    value = "volatile-lru"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "slow_log" {
  name              = "/aws/elasticache/${var.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id        = var.name
  description                 = "Redis of ${var.name}: cache, hints, rate limits and leases (never the source of truth)."
  engine                      = "redis"
  engine_version              = var.engine_version
  node_type                   = var.node_type
  port                        = var.port
  num_cache_clusters          = var.num_cache_clusters
  preferred_cache_cluster_azs = [for index in range(var.num_cache_clusters) : var.azs[index % length(var.azs)]]
  parameter_group_name        = aws_elasticache_parameter_group.this.name
  subnet_group_name           = var.subnet_group_name
  security_group_ids          = [var.security_group_id]
  automatic_failover_enabled  = true
  multi_az_enabled            = true
  at_rest_encryption_enabled  = true
  kms_key_id                  = var.kms_key_arn
  transit_encryption_enabled  = true
  auth_token                  = random_password.auth_token.result
  auth_token_update_strategy  = "ROTATE"
  snapshot_retention_limit    = var.snapshot_retention_days
  snapshot_window             = "03:00-04:00"
  maintenance_window          = "sun:05:00-sun:06:00"
  auto_minor_version_upgrade  = true

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow_log.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = var.tags
}

# The service reads REDIS_URL from a Kubernetes Secret; this secret holds the
# value to put there (and the bare token), so nobody has to assemble it by hand.
resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:The auth token is rotated with the ElastiCache ROTATE strategy by changing it here, not by a Secrets Manager rotation Lambda.
  name_prefix             = "${var.name}-auth-"
  description             = "Auth token and rediss:// URL of ${var.name}."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({
    auth_token = random_password.auth_token.result
    url        = "rediss://:${random_password.auth_token.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${var.port}"
  })
}
