"""Audit actions are declared once (loa/audit/actions.py): record() refuses any other name, every ``do_*`` records
a declared one, and the audit page names actions and units in the reader's language."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

import loa
from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.actions import ACTIONS, UnknownAuditAction, label
from loa.audit.log import record
from loa.audit.models import AuditEntry
from loa.units.models import Unit

SRC = Path(loa.__file__).parent


def _record_names(node: ast.expr) -> list[str | None]:
    """The action names a ``record()`` argument can take; an f-string gives its literal prefix + '*'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _record_names(node.body) + _record_names(node.orelse)
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return [f"{node.values[0].value}*"]
    return [None]


def _do_functions() -> dict[str, tuple[str, list[str | None], set[str]]]:
    """Every ``do_*`` function in src/loa: where it is, the names it records, the ``do_*`` it calls."""
    found: dict[str, tuple[str, list[str | None], set[str]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or not fn.name.startswith("do_"):
                continue
            if fn.name[3:].isupper():
                continue  # http.server's handler methods (do_GET, do_POST) are named by the standard library
            names: list[str | None] = []
            calls: set[str] = set()
            for node in ast.walk(fn):
                if isinstance(node, ast.Call):
                    callee = getattr(node.func, "id", None) or getattr(node.func, "attr", None) or ""
                    if callee == "record" and node.args:
                        names += _record_names(node.args[0])
                    elif callee.startswith("do_"):
                        calls.add(callee)
            where = f"{path.relative_to(SRC.parent)}:{fn.lineno}"
            assert fn.name not in found, f"two functions named {fn.name}: {found[fn.name][0]} and {where}"
            found[fn.name] = (where, names, calls)
    return found


def _declared(name: str | None) -> bool:
    if name is None:
        return False
    if name.endswith("*"):
        return any(a.startswith(name[:-1]) for a in ACTIONS)
    return name in ACTIONS


def test_every_do_function_records_a_declared_action() -> None:
    functions = _do_functions()
    assert len(functions) > 30, "the scan finds the do_* functions"
    undeclared = {
        f"{where} {fn}: {names}"
        for fn, (where, names, _calls) in functions.items()
        if names and not all(_declared(n) for n in names)
    }
    assert not undeclared, (
        f"record() with an action not declared in loa/audit/actions.py: {sorted(undeclared)}"
    )

    def records(fn: str, seen: frozenset[str] = frozenset()) -> bool:
        _where, names, calls = functions[fn]
        return bool(names) or any(c in functions and c not in seen and records(c, seen | {fn}) for c in calls)

    silent = sorted(f"{functions[fn][0]} {fn}" for fn in functions if not records(fn))
    assert not silent, f"these do_* change state without recording an audit action: {silent}"


def test_names_built_from_tables_are_declared() -> None:
    from loa.content.feed import FEED_TRANSITIONS
    from loa.content.workflow import TRANSITIONS

    missing = [f"bulletin.{n}" for n in TRANSITIONS if f"bulletin.{n}" not in ACTIONS]
    missing += [f"bulletin.feed_{n}" for n in FEED_TRANSITIONS if f"bulletin.feed_{n}" not in ACTIONS]
    missing += [f"admin.{verb}" for verb in ("add", "change", "delete") if f"admin.{verb}" not in ACTIONS]
    assert not missing


def test_every_label_has_english(settings: Any) -> None:
    from django.utils import translation

    with translation.override("vi"):
        vietnamese = {name: label(name) for name in ACTIONS}
    with translation.override("en"):
        same = [name for name in ACTIONS if label(name) == vietnamese[name]]
    assert not same, f"no English label for {same}"


def test_record_refuses_an_unknown_action(tree: dict[str, Unit]) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(UnknownAuditAction, match=r"bulletin\.teleported"):
        record("bulletin.teleported", unit=tree["a"])
    assert AuditEntry.objects.count() == before
    record("bulletin.created", unit=tree["a"])
    assert AuditEntry.objects.count() == before + 1


def test_audit_page_names_actions_and_units_in_the_readers_language(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    admin = make_user("quantri", Role.SYSTEM_ADMIN)
    record("broadcast.schedule_created", actor=admin, unit=tree["a"], message="lịch 1")
    console = client_for(admin)

    page = console.get("/audit/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Tạo lịch phát" in page
    assert "Phường Hà Tu" in page

    page = console.get("/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Schedule created" in page
    assert "Phường Hà Tu" in page
    assert "<code>broadcast.schedule_created</code>" not in page
