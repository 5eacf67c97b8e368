# CloudWatch alarms on the data tier and the nodes, all sending to one SNS
# topic. Each alarm needs three consecutive breaching minutes, so a single
# spike at the opening of a sale does not page anybody.

resource "aws_sns_topic" "alarms" {
  name              = var.name
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

module "plan" {
  source = "../alarm-plan"

  aurora_instance_identifiers = var.aurora_instance_identifiers
  redis_member_ids            = var.redis_member_ids
  cluster_name                = var.cluster_name
  thresholds                  = var.thresholds
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = module.plan.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = each.value.missing
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  tags = var.tags
}
