# Aurora MySQL 8: one writer and at least one reader in another AZ, storage
# encrypted with a customer key, automated backups, and a master password that
# RDS generates and keeps in Secrets Manager (it never enters Terraform state).
# The audit, error and slow query logs are turned on by the cluster parameter
# group and exported to log groups that this module creates first.

locals {
  log_exports = ["audit", "error", "slowquery"]
}

resource "aws_rds_cluster_parameter_group" "this" {
  name_prefix = "${var.name}-cluster-"
  family      = "aurora-mysql8.0"
  description = "Cluster parameters of ${var.name}."

  # Clients must use TLS.
  parameter {
    name  = "require_secure_transport"
    value = "ON"
  }

  parameter {
    name  = "character_set_server"
    value = "utf8mb4"
  }

  parameter {
    name  = "time_zone"
    value = "UTC"
  }

  # The audit log records logins and every change to the schema or to grants
  # (not every query: at on-sale rates that would cost more than it tells).
  parameter {
    name  = "server_audit_logging"
    value = "1"
  }

  parameter {
    name  = "server_audit_events"
    value = "CONNECT,QUERY_DCL,QUERY_DDL"
  }

  parameter {
    name  = "server_audit_excl_users"
    value = "rdsadmin"
  }

  # The slow query log goes to files, which is what the CloudWatch export reads.
  parameter {
    name  = "slow_query_log"
    value = "1"
  }

  parameter {
    name  = "long_query_time"
    value = tostring(var.slow_query_seconds)
  }

  parameter {
    name  = "log_output"
    value = "FILE"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

# max_connections is an instance-level parameter in Aurora MySQL.
resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-instance-"
  family      = "aurora-mysql8.0"
  description = "Instance parameters of ${var.name}, sized for the service's connection pools."

  parameter {
    name  = "max_connections"
    value = tostring(var.max_connections)
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

# Created before the cluster so that its retention and encryption apply from
# the first exported line (RDS would otherwise create them without either).
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(local.log_exports)

  name              = "/aws/rds/cluster/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_rds_cluster" "this" {
  #checkov:skip=CKV_AWS_326:Backtrack rewinds the whole cluster in place and would discard acknowledged reservations; recovery is a point-in-time restore from the automated backups into a new cluster.
  #checkov:skip=CKV2_AWS_8:Aurora automated backups (7-35 days, enforced by CKV_TKT_3 and the variable validation) with point-in-time restore are the backup design; no separate AWS Backup plan.
  cluster_identifier                  = var.name
  engine                              = "aurora-mysql"
  engine_version                      = var.engine_version
  database_name                       = var.database_name
  port                                = var.port
  master_username                     = var.master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_arn
  storage_encrypted                   = true
  kms_key_id                          = var.kms_key_arn
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = var.preferred_backup_window
  preferred_maintenance_window        = var.preferred_maintenance_window
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  db_subnet_group_name                = var.db_subnet_group_name
  vpc_security_group_ids              = [var.security_group_id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this.name
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = local.log_exports

  tags = var.tags

  # engine_version is the version the cluster is created with, a minimum:
  # AWS applies minor upgrades in the maintenance window (the instances have
  # auto_minor_version_upgrade), and a plan must never try to go back.
  # A major upgrade is a deliberate, separate operation (README.md).
  lifecycle {
    ignore_changes = [engine_version]
  }

  depends_on = [aws_cloudwatch_log_group.exports]
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name_prefix        = "${substr(var.name, 0, 24)}-monitoring-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# Instance 0 is created first and becomes the writer; the others are readers
# with failover priority in index order, each in the next AZ round-robin.
# Instances take the cluster's engine version; naming it here would revert
# every automatic minor upgrade.
resource "aws_rds_cluster_instance" "this" {
  count = var.instance_count

  identifier                            = "${var.name}-${count.index}"
  cluster_identifier                    = aws_rds_cluster.this.id
  engine                                = aws_rds_cluster.this.engine
  instance_class                        = var.instance_class
  availability_zone                     = var.azs[count.index % length(var.azs)]
  promotion_tier                        = count.index
  db_parameter_group_name               = aws_db_parameter_group.this.name
  publicly_accessible                   = false
  auto_minor_version_upgrade            = true
  copy_tags_to_snapshot                 = true
  ca_cert_identifier                    = "rds-ca-rsa2048-g1"
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}
