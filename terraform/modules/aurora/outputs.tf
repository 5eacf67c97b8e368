output "cluster_identifier" {
  description = "Identifier of the Aurora cluster."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "endpoint" {
  description = "Writer endpoint (host name) of the cluster."
  value       = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "Load-balanced reader endpoint of the cluster."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "port" {
  description = "Port of the cluster."
  value       = aws_rds_cluster.this.port
}

output "database_name" {
  description = "Name of the service database."
  value       = aws_rds_cluster.this.database_name
}

output "master_username" {
  description = "Master user name (the password is in the secret named by master_user_secret_arn)."
  value       = aws_rds_cluster.this.master_username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret, managed by RDS, that holds the master user name and password."
  value       = aws_rds_cluster.this.master_user_secret[0].secret_arn
}

output "instance_identifiers" {
  description = "Identifiers of the instances, in index order (instance 0 was created as the writer)."
  value       = aws_rds_cluster_instance.this[*].identifier
}
