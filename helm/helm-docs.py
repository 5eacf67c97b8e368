#!/usr/bin/env python3
"""Generates the values table of helm/ticketing/README.md from helm/ticketing/values.yaml.

Every key preceded by a comment that starts with `# --` becomes one row: its dotted path, its type, its default
(as JSON) and the comment's text (continued on the following `#` lines). The table replaces whatever stands
between the `<!-- values-table:start -->` and `<!-- values-table:end -->` markers of the README.

    python3 helm/helm-docs.py --check   exit 1 and show a diff when the README's table is stale
    python3 helm/helm-docs.py --write   rewrite the README's table

Needs PyYAML (scripts/test-helm.sh runs it with the Python of its checkov virtualenv, which has it).
"""

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent / "ticketing"
START = "<!-- values-table:start -->"
END = "<!-- values-table:end -->"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?:\s|$)")
DOC_START = re.compile(r"^ *# -- ?(?P<text>.*)$")
DOC_CONTINUE = re.compile(r"^ *# ?(?P<text>.*)$")


def documented_keys(lines):
    """Yields (dotted path, description) for every key that carries a `# --` comment, in file order."""
    stack = []  # (indent, key) of the mapping keys enclosing the current line.
    description = None
    for line in lines:
        start = DOC_START.match(line)
        if start:
            description = [start.group("text").strip()]
            continue
        if description is not None and DOC_CONTINUE.match(line) and line.strip() != "#":
            description.append(DOC_CONTINUE.match(line).group("text").strip())
            continue
        key = KEY_LINE.match(line)
        if not key:
            if line.strip() and not line.lstrip().startswith("#"):
                description = None
            continue
        indent = len(key.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key.group("key")))
        if description is not None:
            yield ".".join(k for _, k in stack), " ".join(description)
        description = None


def lookup(values, path):
    node = values
    for part in path.split("."):
        node = node[part]
    return node


def type_name(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


def cell(text):
    return text.replace("|", "\\|")


def render_table(values_text):
    values = yaml.safe_load(values_text)
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for path, description in documented_keys(values_text.splitlines()):
        value = lookup(values, path)
        default = json.dumps(value, separators=(",", ":"))
        rows.append(f"| `{path}` | {type_name(value)} | `{cell(default)}` | {cell(description)} |")
    return "\n".join(rows) + "\n"


def splice(readme, table):
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the {START} / {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail when README.md's values table is stale")
    mode.add_argument("--write", action="store_true", help="rewrite README.md's values table")
    args = parser.parse_args()

    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    wanted = splice(readme, render_table((CHART / "values.yaml").read_text()))
    if args.write:
        readme_path.write_text(wanted)
        print(f"wrote {readme_path}")
        return 0
    if wanted != readme:
        sys.stdout.writelines(difflib.unified_diff(
            readme.splitlines(True), wanted.splitlines(True), "README.md (committed)", "README.md (generated)"))
        print("README.md's values table is stale: run python3 helm/helm-docs.py --write", file=sys.stderr)
        return 1
    print("README.md's values table matches values.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
