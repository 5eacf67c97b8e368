"""Reading checkov's view of a resource's attributes, shared by every policy module here.

Checkov hands a check the resource's attributes after it has rendered
variables, locals and module inputs; every attribute value arrives wrapped in
a one-element list, and a value it could not resolve arrives as the reference
text (for example ``aws_security_group.nodes.id``). Nested blocks arrive as
lists of dicts.
"""

from __future__ import annotations

from typing import Any


def value(conf: dict[str, Any], *path: str) -> Any:
    """Returns the attribute at ``path`` (nested blocks included), unwrapped, or None when absent."""
    current: Any = conf
    for key in path:
        if isinstance(current, list):
            current = current[0] if current else None
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    if isinstance(current, list) and len(current) == 1:
        return current[0]
    return current


def is_true(conf: dict[str, Any], *path: str) -> bool:
    """True only for a literal (or rendered) boolean true."""
    return value(conf, *path) is True


def number(conf: dict[str, Any], *path: str) -> float | None:
    """The attribute as a number, or None when it is absent or unresolved."""
    raw = value(conf, *path)
    if isinstance(raw, bool):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def as_list(raw: Any) -> list[Any]:
    """A list attribute, flattened one level, with None for an absent one."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [raw]
    flat: list[Any] = []
    for item in raw:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def is_set(conf: dict[str, Any], *path: str) -> bool:
    """True when the attribute holds a non-empty value."""
    raw = value(conf, *path)
    return raw not in (None, "", [], {})


def parameters(conf: dict[str, Any]) -> dict[str, str]:
    """The ``parameter`` blocks of a parameter group as name -> value (both as text)."""
    found: dict[str, str] = {}
    for block in conf.get("parameter") or []:
        if isinstance(block, dict):
            name, setting = value(block, "name"), value(block, "value")
            if name is not None:
                found[str(name)] = str(setting)
    return found


def ignored_changes(conf: dict[str, Any]) -> list[str]:
    """The attribute names in the resource's ``lifecycle { ignore_changes = [...] }``."""
    return [str(item) for item in as_list(value(conf, "lifecycle", "ignore_changes"))]
