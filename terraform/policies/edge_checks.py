"""Checkov custom checks for the public edge: the certificate the load balancer serves and the
web ACL in front of it.
"""

from __future__ import annotations

from typing import Any

from attribute_values import is_true, value
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class CertificateRenewsItself(BaseResourceCheck):
    """An ACM certificate is validated through DNS (so ACM renews it without anyone acting),
    keeps certificate transparency logging, and is replaced create-before-destroy, so the load
    balancer that serves it is never left without one."""

    def __init__(self) -> None:
        super().__init__(
            name="ACM certificate is DNS-validated, transparency-logged and replaced create-before-destroy",
            id="CKV_TKT_13",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_acm_certificate"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        transparency = value(conf, "options", "certificate_transparency_logging_preference")
        if (
            value(conf, "validation_method") == "DNS"
            and transparency != "DISABLED"
            and is_true(conf, "lifecycle", "create_before_destroy")
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


def blocks_floods_per_ip(rule: dict[str, Any]) -> bool:
    """True for a rule that blocks a client IP above a request rate."""
    aggregate = value(rule, "statement", "rate_based_statement", "aggregate_key_type")
    blocks = value(rule, "action", "block") is not None
    return aggregate == "IP" and blocks


class WebAclForTheLoadBalancer(BaseResourceCheck):
    """A web ACL can sit in front of an Application Load Balancer (regional scope) and blocks a
    client that floods it (a per-IP rate-based rule)."""

    def __init__(self) -> None:
        super().__init__(
            name="WAF web ACL is regional (attachable to an ALB) and rate-limits each client IP",
            id="CKV_TKT_14",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_wafv2_web_acl"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        rules = [rule for rule in conf.get("rule") or [] if isinstance(rule, dict)]
        if value(conf, "scope") == "REGIONAL" and any(blocks_floods_per_ip(rule) for rule in rules):
            return CheckResult.PASSED
        return CheckResult.FAILED


check_certificate_renews_itself = CertificateRenewsItself()
check_web_acl_for_the_load_balancer = WebAclForTheLoadBalancer()
