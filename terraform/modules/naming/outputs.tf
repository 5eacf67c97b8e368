output "prefix" {
  description = "Common name prefix: <project>-<environment>."
  value       = local.prefix
}

output "names" {
  description = "Resource names per component (vpc, cluster, aurora, redis, alarms, waf)."
  value       = local.names
}

output "tags" {
  description = "Standard tags (Project, Environment, ManagedBy) merged over the caller's extra tags."
  value       = local.tags
}
