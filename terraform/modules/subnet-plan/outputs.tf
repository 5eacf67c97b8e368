output "subnets" {
  description = "Map from availability zone to its index and its public, private and database CIDR blocks."
  value       = local.subnets
}

output "public_subnets" {
  description = "Public subnet CIDR blocks, in the order of var.azs."
  value       = [for az in var.azs : local.subnets[az].public]
}

output "private_subnets" {
  description = "Private subnet CIDR blocks, in the order of var.azs."
  value       = [for az in var.azs : local.subnets[az].private]
}

output "database_subnets" {
  description = "Database subnet CIDR blocks, in the order of var.azs."
  value       = [for az in var.azs : local.subnets[az].database]
}
