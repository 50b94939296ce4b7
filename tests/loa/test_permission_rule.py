"""One permission rule for state changes (docs/adr/0009): views and endpoints authorise through ``access_*``; a
``do_*`` function never decides who may act — it receives authorised objects and an explicit actor. This reads every
``do_*`` function of src/loa and fails when one asks a permission question itself or takes a permission flag."""

from __future__ import annotations

import ast
from pathlib import Path

import loa

SRC = Path(loa.__file__).parent
QUESTIONS = {"can", "is_system_admin", "holds_role", "grants", "is_system"}


def _asks(node: ast.Call) -> str | None:
    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None) or ""
    if name.startswith(("access_", "can_")) or name in QUESTIONS:
        return name
    return None


def test_no_do_function_decides_permissions() -> None:
    offences: list[str] = []
    count = 0
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or not fn.name.startswith("do_"):
                continue
            count += 1
            where = f"{path.relative_to(SRC.parent)}:{fn.lineno} {fn.name}"
            flags = [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg.startswith("may_")]
            if flags:
                offences.append(f"{where} takes a permission flag {flags}")
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and (asked := _asks(node)):
                    offences.append(f"{where} asks {asked}()")
                if (
                    isinstance(node, ast.Raise)
                    and node.exc is not None
                    and "AccessDenied" in ast.unparse(node.exc)
                ):
                    offences.append(f"{where} raises AccessDenied")
    assert count > 40, "the scan finds the do_* functions"
    assert not offences, "a do_* decides permissions (ask in the view through access_*): " + "; ".join(
        offences
    )
