"""Judges checkov JSON reports for scripts/test-terraform.sh.

Each mode prints one line per verdict, starting with PASS or FAIL:

  fixtures REPORT FIXTURES_DIR ID...  each policy fails every broken_* resource in FIXTURES_DIR/<ID>/
                                      and passes none of them
  tree REPORT ID...                   no check failed, no file failed to parse, and each policy passed
                                      on at least one resource
  example REPORT                      no check failed and no file failed to parse
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any


def load(report_path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, int]:
    """Returns the passed and failed results, the number of skipped ones and of parsing errors."""
    with open(report_path) as handle:
        report = json.load(handle)
    # One framework gives one object; several give a list of them.
    reports = report if isinstance(report, list) else [report]
    results = [entry.get("results", {}) for entry in reports]
    passed = [r for result in results for r in result.get("passed_checks", [])]
    failed = [r for result in results for r in result.get("failed_checks", [])]
    skipped = sum(len(result.get("skipped_checks", [])) for result in results)
    errors = sum(entry.get("summary", {}).get("parsing_errors", 0) for entry in reports)
    return passed, failed, skipped, errors


def broken_resources(directory: str) -> set[str]:
    """Addresses (type.name) of the resources named broken_* declared in a fixture directory."""
    declared: set[str] = set()
    for name in sorted(os.listdir(directory)):
        if name.endswith(".tf"):
            with open(os.path.join(directory, name)) as handle:
                found = re.findall(r'^resource "([^"]+)" "(broken_[^"]+)"', handle.read(), re.M)
            declared |= {f"{kind}.{resource}" for kind, resource in found}
    return declared


def judged(results: list[dict[str, Any]], policy_id: str, directory: str) -> set[str]:
    """Broken resources of one fixture directory that `results` hold for one policy (count index dropped)."""
    return {
        re.sub(r"\[\d+\]$", "", r["resource"])
        for r in results
        if r["check_id"] == policy_id and r["file_path"].startswith(f"/{directory}/") and ".broken_" in r["resource"]
    }


def fixtures(report_path: str, fixtures_dir: str, policy_ids: list[str]) -> None:
    passed, failed, _, _ = load(report_path)
    for policy_id in policy_ids:
        directory = os.path.join(fixtures_dir, policy_id)
        if not os.path.isdir(directory):
            print(f"FAIL policy {policy_id}: no broken fixture in terraform/policies/fixtures/{policy_id}/")
            continue
        declared = broken_resources(directory)
        failing = judged(failed, policy_id, policy_id)
        passing = judged(passed, policy_id, policy_id)
        if not declared:
            print(f"FAIL policy {policy_id}: its fixture declares no broken_* resource")
        elif failing == declared and not passing:
            print(f"PASS policy {policy_id} fails all {len(declared)} broken fixture resources")
        else:
            print(f"FAIL policy {policy_id} did not fail {sorted(declared - failing)} (passed: {sorted(passing)})")


def clean(label: str, report_path: str) -> list[dict[str, Any]]:
    """Prints the verdict on failures and parsing errors; returns the passed results."""
    passed, failed, skipped, errors = load(report_path)
    for r in failed:
        print(f"FAIL checkov {label}: {r['check_id']} {r['check_name']} on {r['resource']} ({r['file_path']})")
    if errors:
        print(f"FAIL checkov {label}: {errors} file(s) could not be parsed")
    if not failed and not errors:
        if passed:
            print(f"PASS checkov {label}: {len(passed)} passed, 0 failed, {skipped} skipped with a reason")
        else:
            print(f"FAIL checkov {label}: no check ran")
    return passed


def tree(report_path: str, policy_ids: list[str]) -> None:
    passed = clean("terraform/", report_path)
    for policy_id in policy_ids:
        count = sum(1 for r in passed if r["check_id"] == policy_id)
        if count:
            print(f"PASS policy {policy_id} passes on the real code ({count} resource(s))")
        else:
            print(f"FAIL policy {policy_id} passed on no resource of the real code")


def main(argv: list[str]) -> None:
    mode, report_path, *rest = argv
    if mode == "fixtures":
        fixtures(report_path, rest[0], rest[1:])
    elif mode == "tree":
        tree(report_path, rest)
    elif mode == "example":
        clean("examples/complete", report_path)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
