"""The dependency rules of DESIGN.md, read from the source so they cannot silently erode."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULE_MODULES = [
    "calendar",
    "timeliness",
    "figures",
    "workflow",
    "domain",
    "errors",
    "policy",
    "reminders",
    "recurrence",
    "programme",
]


def imports_of(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_rule_modules_import_only_the_standard_library_and_each_other() -> None:
    allowed = {f"directives.{m}" for m in RULE_MODULES}
    for name in RULE_MODULES:
        for imported in imports_of(ROOT / "directives" / f"{name}.py"):
            top = imported.split(".")[0]
            assert top in sys.stdlib_module_names or imported in allowed, (name, imported)


def test_directives_never_imports_flows_or_notifications_except_its_entry_points() -> None:
    # The entry points (the command line and the web app) compose: the CLI may start the
    # scheduler (flows, imported lazily), and both may render what notifications draws (a
    # digest previewed as a page, the dashboard's charts). Storage, services and rules may not.
    entry_points = (ROOT / "directives" / "cli", ROOT / "directives" / "web")
    for path in (ROOT / "directives").rglob("*.py"):
        imported_tops = {i.split(".")[0] for i in imports_of(path)}
        if path.is_relative_to(entry_points[0]):
            continue
        if path.is_relative_to(entry_points[1]):
            assert "flows" not in imported_tops, path
            continue
        assert not imported_tops & {"flows", "notifications"}, path


def test_notifications_never_imports_directives_or_flows() -> None:
    for path in (ROOT / "notifications").rglob("*.py"):
        for imported in imports_of(path):
            assert imported.split(".")[0] not in ("directives", "flows"), (path, imported)
