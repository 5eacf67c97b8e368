output "alarms" {
  description = "Alarm definitions keyed by name: namespace, metric, statistic, dimensions, comparison, threshold, missing (treat_missing_data) and description."
  value       = local.alarms
}
