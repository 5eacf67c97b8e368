"""Checkov custom checks for the database audit trail: what Aurora MySQL exports and what turns it on.

Exporting a log type to CloudWatch is not enough: Aurora MySQL writes no audit
log until the cluster parameter group sets ``server_audit_logging``, and no
slow query log until it sets ``slow_query_log`` with ``log_output = FILE``.
CKV_TKT_8 checks the export side on the cluster, CKV_TKT_9 the parameter side
on its cluster parameter group.
"""

from __future__ import annotations

from typing import Any

from attribute_values import as_list, parameters, value
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# Log types every Aurora MySQL cluster exports to CloudWatch Logs.
REQUIRED_EXPORTS = {"audit", "error", "slowquery"}

# Audit events that must be recorded: logins, and changes to schema and grants.
REQUIRED_AUDIT_EVENTS = {"CONNECT", "QUERY_DCL", "QUERY_DDL"}

# The slowest a query may be, in seconds, before the slow query log must hold it.
MAX_LONG_QUERY_SECONDS = 10.0


def is_aurora_mysql(text: Any) -> bool:
    """True for an Aurora MySQL engine name or parameter group family."""
    return str(text).startswith("aurora-mysql")


class AuroraLogExports(BaseResourceCheck):
    """An Aurora MySQL cluster exports its audit, error and slow query logs and uses a cluster
    parameter group of its own (the default group turns neither the audit nor the slow query log on)."""

    def __init__(self) -> None:
        super().__init__(
            name="Aurora MySQL cluster exports audit, error and slowquery logs and has its own cluster parameter group",
            id="CKV_TKT_8",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_rds_cluster"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if not is_aurora_mysql(value(conf, "engine")):
            return CheckResult.UNKNOWN
        exports = {str(item) for item in as_list(value(conf, "enabled_cloudwatch_logs_exports"))}
        group = str(value(conf, "db_cluster_parameter_group_name") or "")
        if REQUIRED_EXPORTS <= exports and group and not group.startswith("default."):
            return CheckResult.PASSED
        return CheckResult.FAILED


def long_query_seconds(setting: str | None) -> float | None:
    """The long_query_time parameter in seconds, or None when it is absent or not a number."""
    try:
        return float(setting) if setting is not None else None
    except ValueError:
        return None


class AuroraLogParameters(BaseResourceCheck):
    """An Aurora MySQL cluster parameter group turns the audit log on for logins, DDL and DCL,
    and the slow query log on, written to files (which is what the export reads) with a
    threshold of at most ten seconds."""

    def __init__(self) -> None:
        super().__init__(
            name="Aurora MySQL cluster parameter group turns on the audit log and the slow query log",
            id="CKV_TKT_9",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_rds_cluster_parameter_group"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if not is_aurora_mysql(value(conf, "family")):
            return CheckResult.UNKNOWN
        params = parameters(conf)
        events = {event.strip().upper() for event in params.get("server_audit_events", "").split(",")}
        threshold = long_query_seconds(params.get("long_query_time"))
        if (
            params.get("server_audit_logging") == "1"
            and REQUIRED_AUDIT_EVENTS <= events
            and params.get("slow_query_log") == "1"
            and params.get("log_output", "").upper() == "FILE"
            and threshold is not None
            and 0 < threshold <= MAX_LONG_QUERY_SECONDS
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


check_aurora_log_exports = AuroraLogExports()
check_aurora_log_parameters = AuroraLogParameters()
