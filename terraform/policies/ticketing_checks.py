"""Checkov custom checks that encode the high-availability and security design of the ticketing stack.

Each check is one rule of the design in terraform/README.md; attribute_values.py
says how checkov presents a resource's attributes. Each check has a broken
fixture under ``fixtures/<check id>/`` on which scripts/test-terraform.sh
asserts it fails.
"""

from __future__ import annotations

from typing import Any

from attribute_values import as_list, is_set, is_true, number, value
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# Ports of the data tier: Aurora MySQL and Redis.
DATA_PORTS = (3306, 6379)


class RedisHighAvailability(BaseResourceCheck):
    """A Redis replication group has a replica, automatic failover and Multi-AZ placement."""

    def __init__(self) -> None:
        super().__init__(
            name="Redis replication group has at least two nodes, automatic failover and Multi-AZ",
            id="CKV_TKT_1",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_elasticache_replication_group"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        members = number(conf, "num_cache_clusters")
        replicas = number(conf, "replicas_per_node_group")
        has_replica = (members is not None and members >= 2) or (replicas is not None and replicas >= 1)
        if has_replica and is_true(conf, "automatic_failover_enabled") and is_true(conf, "multi_az_enabled"):
            return CheckResult.PASSED
        return CheckResult.FAILED


class RedisEncryptionAndAuth(BaseResourceCheck):
    """Redis encrypts at rest with a customer key, encrypts in transit and requires an auth token."""

    def __init__(self) -> None:
        super().__init__(
            name="Redis replication group encrypts at rest (KMS) and in transit and requires an auth token",
            id="CKV_TKT_2",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_elasticache_replication_group"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if (
            is_true(conf, "at_rest_encryption_enabled")
            and is_set(conf, "kms_key_id")
            and is_true(conf, "transit_encryption_enabled")
            and is_set(conf, "auth_token")
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


class AuroraProtection(BaseResourceCheck):
    """An Aurora cluster is encrypted with a customer key, backed up for a week or more, and its
    master password is generated and kept by RDS in Secrets Manager (never written in code or state)."""

    def __init__(self) -> None:
        super().__init__(
            name="Aurora cluster is KMS-encrypted, keeps >= 7 days of backups and has an RDS-managed master password",
            id="CKV_TKT_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_rds_cluster"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        retention = number(conf, "backup_retention_period")
        if (
            is_true(conf, "storage_encrypted")
            and is_set(conf, "kms_key_id")
            and retention is not None
            and retention >= 7
            and is_true(conf, "manage_master_user_password")
            and not is_set(conf, "master_password")
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


class NodeGroupHighAvailability(BaseResourceCheck):
    """The EKS node group keeps at least two nodes and spreads them over at least two subnets (AZs)."""

    def __init__(self) -> None:
        super().__init__(
            name="EKS node group has min_size >= 2 over >= 2 subnets",
            id="CKV_TKT_5",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_eks_node_group"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        min_size = number(conf, "scaling_config", "min_size")
        subnets = as_list(value(conf, "subnet_ids"))
        if min_size is not None and min_size >= 2 and len(subnets) >= 2:
            return CheckResult.PASSED
        return CheckResult.FAILED


class MultiAzPlacement(BaseResourceCheck):
    """Whatever is placed in subnets (database and cache subnet groups, the EKS control plane) spans
    at least two subnets, which the network module puts in distinct AZs."""

    def __init__(self) -> None:
        super().__init__(
            name="Subnet groups and the EKS cluster span >= 2 subnets (VPC over >= 2 AZs)",
            id="CKV_TKT_6",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_db_subnet_group", "aws_elasticache_subnet_group", "aws_eks_cluster"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if self.entity_type == "aws_eks_cluster":
            subnets = as_list(value(conf, "vpc_config", "subnet_ids"))
        else:
            subnets = as_list(value(conf, "subnet_ids"))
        return CheckResult.PASSED if len(subnets) >= 2 else CheckResult.FAILED


def covers_data_port(protocol: Any, from_port: Any, to_port: Any) -> bool:
    """True when a rule's protocol and port range include a data-tier port."""
    if str(protocol) in ("-1", "all"):
        return True
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        return True
    return any(low <= port <= high for port in DATA_PORTS)


def targets_data_tier(reference: Any) -> bool:
    """True when a security group reference names the database or the Redis group."""
    text = str(reference)
    return "database" in text or "redis" in text


def from_nodes_only(sources: list[Any], cidrs: list[Any]) -> bool:
    """True when a rule admits the node security group and no address range."""
    return not cidrs and len(sources) >= 1 and all("node" in str(source) for source in sources)


class DataTierIngressFromNodesOnly(BaseResourceCheck):
    """Ingress to the database and Redis (by target group or by port) comes from the node security
    group only: never from a CIDR range, a prefix list, another group or the group itself."""

    def __init__(self) -> None:
        super().__init__(
            name="Database and Redis ingress comes only from the EKS node security group",
            id="CKV_TKT_7",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_vpc_security_group_ingress_rule",
                "aws_security_group_rule",
                "aws_security_group",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if self.entity_type == "aws_vpc_security_group_ingress_rule":
            return self._check_rule(
                target=value(conf, "security_group_id"),
                port_range=(value(conf, "ip_protocol"), value(conf, "from_port"), value(conf, "to_port")),
                sources=as_list(value(conf, "referenced_security_group_id")),
                cidrs=as_list(value(conf, "cidr_ipv4")) + as_list(value(conf, "cidr_ipv6")) + as_list(value(conf, "prefix_list_id")),
            )
        if self.entity_type == "aws_security_group_rule":
            if value(conf, "type") != "ingress":
                return CheckResult.PASSED
            return self._check_rule(
                target=value(conf, "security_group_id"),
                port_range=(value(conf, "protocol"), value(conf, "from_port"), value(conf, "to_port")),
                sources=as_list(value(conf, "source_security_group_id")) + (["self"] if is_true(conf, "self") else []),
                cidrs=as_list(value(conf, "cidr_blocks")) + as_list(value(conf, "ipv6_cidr_blocks")) + as_list(value(conf, "prefix_list_ids")),
            )
        group_name = " ".join(str(value(conf, key) or "") for key in ("name", "name_prefix"))
        for rule in conf.get("ingress") or []:
            result = self._check_rule(
                target=group_name,
                port_range=(value(rule, "protocol"), value(rule, "from_port"), value(rule, "to_port")),
                sources=as_list(value(rule, "security_groups")) + (["self"] if is_true(rule, "self") else []),
                cidrs=as_list(value(rule, "cidr_blocks")) + as_list(value(rule, "ipv6_cidr_blocks")) + as_list(value(rule, "prefix_list_ids")),
            )
            if result == CheckResult.FAILED:
                return result
        return CheckResult.PASSED

    @staticmethod
    def _check_rule(target: Any, port_range: tuple[Any, Any, Any], sources: list[Any], cidrs: list[Any]) -> CheckResult:
        if not (targets_data_tier(target) or covers_data_port(*port_range)):
            return CheckResult.PASSED
        return CheckResult.PASSED if from_nodes_only(sources, cidrs) else CheckResult.FAILED


check_redis_ha = RedisHighAvailability()
check_redis_encryption = RedisEncryptionAndAuth()
check_aurora_protection = AuroraProtection()
check_node_group_ha = NodeGroupHighAvailability()
check_multi_az = MultiAzPlacement()
check_data_tier_ingress = DataTierIngressFromNodesOnly()
