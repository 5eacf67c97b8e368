"""Checkov custom checks for the life of the stateful and versioned resources: upgrades that
never plan a downgrade, an upgrade path for EKS, and a database that cannot be deleted by accident.
"""

from __future__ import annotations

import re
from typing import Any

from attribute_values import ignored_changes, is_set, is_true, value
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# A version that names only the major release: "8.0" for the MySQL engines,
# "16" for the PostgreSQL ones. Anything longer pins a minor version.
MAJOR_ONLY = {
    "mysql": re.compile(r"^\d+\.\d+$"),
    "postgres": re.compile(r"^\d+$"),
}

SUPPORT_TYPES = {"STANDARD", "EXTENDED"}


def pins_a_minor_version(engine: Any, version: Any) -> bool:
    """True when ``version`` names more than the major release of ``engine``."""
    family = "postgres" if "postgres" in str(engine) else "mysql"
    return not MAJOR_ONLY[family].match(str(version))


class NoPlannedEngineDowngrade(BaseResourceCheck):
    """A database whose minor version AWS upgrades by itself never pins that minor version in code:
    after an automatic upgrade, a pinned version would make the next plan a downgrade. The version is
    either the major release only, ignored after creation (lifecycle ignore_changes), or left to the
    cluster (instances); an instance that turns automatic minor upgrades off may pin it."""

    def __init__(self) -> None:
        super().__init__(
            name="Database with automatic minor upgrades pins no minor engine version that a plan would revert",
            id="CKV_TKT_10",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_rds_cluster", "aws_rds_cluster_instance", "aws_db_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        version = value(conf, "engine_version")
        if version in (None, ""):
            return CheckResult.PASSED
        ignored = ignored_changes(conf)
        if "engine_version" in ignored or "all" in ignored:
            return CheckResult.PASSED
        if self.entity_type != "aws_rds_cluster" and value(conf, "auto_minor_version_upgrade") is False:
            return CheckResult.PASSED
        if not pins_a_minor_version(value(conf, "engine"), version):
            return CheckResult.PASSED
        return CheckResult.FAILED


class EksUpgradePath(BaseResourceCheck):
    """An EKS cluster names its Kubernetes version and its support policy, and what runs on it
    (managed node groups, managed add-ons) names a version too, so raising the cluster version
    moves everything in the same plan instead of leaving nodes and add-ons behind."""

    def __init__(self) -> None:
        super().__init__(
            name="EKS cluster pins its version and support type; node groups and add-ons carry a version",
            id="CKV_TKT_11",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_eks_cluster", "aws_eks_node_group", "aws_eks_addon"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if self.entity_type == "aws_eks_cluster":
            support = value(conf, "upgrade_policy", "support_type")
            return CheckResult.PASSED if is_set(conf, "version") and support in SUPPORT_TYPES else CheckResult.FAILED
        if self.entity_type == "aws_eks_node_group":
            versioned = is_set(conf, "version") or is_set(conf, "release_version")
            return CheckResult.PASSED if versioned else CheckResult.FAILED
        return CheckResult.PASSED if is_set(conf, "addon_version") else CheckResult.FAILED


class AuroraDeletionSafety(BaseResourceCheck):
    """An Aurora cluster refuses deletion, and a deletion that is forced anyway leaves a final snapshot."""

    def __init__(self) -> None:
        super().__init__(
            name="Aurora cluster has deletion protection and takes a final snapshot",
            id="CKV_TKT_12",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_rds_cluster"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if (
            is_true(conf, "deletion_protection")
            and not is_true(conf, "skip_final_snapshot")
            and is_set(conf, "final_snapshot_identifier")
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


check_no_planned_engine_downgrade = NoPlannedEngineDowngrade()
check_eks_upgrade_path = EksUpgradePath()
check_aurora_deletion_safety = AuroraDeletionSafety()
