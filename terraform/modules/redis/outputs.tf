output "replication_group_id" {
  description = "Id of the replication group."
  value       = aws_elasticache_replication_group.this.id
}

output "primary_endpoint_address" {
  description = "Host name of the primary endpoint (follows failover)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint_address" {
  description = "Host name of the reader endpoint."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Port of the replication group."
  value       = var.port
}

output "member_clusters" {
  description = "Cache cluster ids of the members (the CacheClusterId dimension of their metrics)."
  value       = tolist(aws_elasticache_replication_group.this.member_clusters)
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding the auth token and the rediss:// URL."
  value       = aws_secretsmanager_secret.redis.arn
}
