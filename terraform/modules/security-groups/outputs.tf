output "node_security_group_id" {
  description = "Security group worn by the EKS nodes."
  value       = aws_security_group.nodes.id
}

output "database_security_group_id" {
  description = "Security group of Aurora, open to the nodes only."
  value       = aws_security_group.database.id
}

output "redis_security_group_id" {
  description = "Security group of ElastiCache, open to the nodes only."
  value       = aws_security_group.redis.id
}
