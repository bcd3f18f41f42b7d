#!/usr/bin/env python3
"""Fail when the interfaces write to the database themselves (``make lint``).

The web UI (``saraban/web/``), the API (``saraban/api/``) and every template tag library
(``saraban/*/templatetags/``) parse, call an area's action or selector, and render: writes
belong to the actions (one transaction, one audit event). This reads those modules' syntax
trees (tests excluded) and reports each call that writes through the ORM:

* ``.save(``, ``.delete(``, ``.get_or_create(``, ``.update_or_create(``, ``.bulk_create(``,
  ``.bulk_update(`` on anything;
* ``.create(`` and ``.update(`` on a manager or queryset: a receiver that goes through
  ``.objects``, a related manager's ``_set``, or a queryset method (``filter``, ``all`` …),
  so ``dict.update`` is not reported.

Exceptions are listed in ``ALLOWED`` below, each with its reason, by (file, function).

    python scripts/check_no_orm_writes.py [ROOT]
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ALWAYS = frozenset({"save", "delete", "get_or_create", "update_or_create", "bulk_create",
                    "bulk_update"})
ON_QUERYSETS = frozenset({"create", "update"})
QUERYSET_METHODS = frozenset({
    "objects", "filter", "exclude", "all", "select_related", "prefetch_related", "order_by",
    "annotate", "values", "values_list", "distinct", "using", "select_for_update", "none",
    "get_queryset", "alias", "only", "defer",
})

#: (path relative to the root, enclosing function) -> why it may write.
ALLOWED: dict[tuple[str, str], str] = {
    # TODO(LOGIN): API tokens and their last-use time; move into an area's actions
    # (agencies) that the web and the API both call.
    ("saraban/api/auth.py", "api_token_issue"): "token issue (owner LOGIN)",
    ("saraban/api/auth.py", "api_token_revoke"): "token revoke (owner LOGIN)",
    ("saraban/api/auth.py", "person_for_token"): "token last-use time (owner LOGIN)",
}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    function: str
    call: str

    def __str__(self) -> str:
        where = f" in {self.function}()" if self.function else ""
        return f"{self.path}:{self.line}: .{self.call}(){where} writes through the ORM; " \
               "call an action of the area instead"


def _receiver_is_queryset(node: ast.expr) -> bool:
    """Whether an expression reads like a manager or a queryset."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr in QUERYSET_METHODS or node.attr.endswith("_set"):
                return True
            node = node.value
        else:
            return False


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.stack: list[str] = []
        self.found: list[Finding] = []
        self.decorators: set[int] = set()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # ``@router.delete(...)`` declares an HTTP method; it writes nothing.
        self.decorators |= {id(d) for d in node.decorator_list}
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and id(node) not in self.decorators:
            name = func.attr
            if name in ALWAYS or (name in ON_QUERYSETS and _receiver_is_queryset(func.value)):
                self.found.append(Finding(self.path, node.lineno,
                                          self.stack[-1] if self.stack else "", name))
        self.generic_visit(node)


def interface_modules(root: Path) -> Iterator[Path]:
    """The web, the API and every template tag library, without their tests."""
    pkg = root / "saraban"
    paths = [*(pkg / "web").rglob("*.py"), *(pkg / "api").rglob("*.py"),
             *pkg.glob("*/templatetags/**/*.py")]
    for path in sorted(set(paths)):
        parts = path.relative_to(root).parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield path


def check(root: Path) -> tuple[list[Finding], list[tuple[str, str]]]:
    """The findings not allowed, and the allow-list entries that matched nothing."""
    found: list[Finding] = []
    used: set[tuple[str, str]] = set()
    for path in interface_modules(root):
        rel = path.relative_to(root).as_posix()
        visitor = _Visitor(rel)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        for finding in visitor.found:
            key = (finding.path, finding.function)
            if key in ALLOWED:
                used.add(key)
            else:
                found.append(finding)
    return found, sorted(set(ALLOWED) - used)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found, stale = check(root)
    for finding in found:
        print(finding)
    for path, function in stale:
        print(f"{path}: {function}() is allowed to write but no longer does; "
              "remove it from ALLOWED in scripts/check_no_orm_writes.py")
    if found or stale:
        return 1
    print(f"no ORM writes in the web, the API or template tags "
          f"({len(ALLOWED)} allowed, each with its reason)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
