output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones the subnets span."
  value       = var.azs
}

output "public_subnet_ids" {
  description = "Public subnet IDs, in the order of var.azs."
  value       = [for az in var.azs : aws_subnet.public[az].id]
}

output "private_subnet_ids" {
  description = "Private subnet IDs (EKS nodes), in the order of var.azs."
  value       = [for az in var.azs : aws_subnet.private[az].id]
}

output "database_subnet_ids" {
  description = "Database subnet IDs (Aurora, ElastiCache), in the order of var.azs."
  value       = [for az in var.azs : aws_subnet.database[az].id]
}

output "db_subnet_group_name" {
  description = "Name of the RDS subnet group over the database subnets."
  value       = aws_db_subnet_group.this.name
}

output "elasticache_subnet_group_name" {
  description = "Name of the ElastiCache subnet group over the database subnets."
  value       = aws_elasticache_subnet_group.this.name
}

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (the egress addresses of the cluster)."
  value       = [for eip in aws_eip.nat : eip.public_ip]
}
