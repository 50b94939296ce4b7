"""The audit log is a hash chain: editing or deleting a row is found by `loa audit verify`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from loa.audit.log import record, verify
from loa.audit.models import AppendOnlyError, AuditEntry
from loa.units.models import Unit


def verify_cmd() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


@pytest.fixture
def entries(tree: dict[str, Unit]) -> list[AuditEntry]:
    return [
        record("settings.changed", unit=tree["a"], message=f"sự kiện {i}", data={"i": i, "tên": "Hà Tu"})
        for i in range(5)
    ]


def test_chain_verifies(entries: list[AuditEntry]) -> None:
    assert entries[1].prev_hash == entries[0].hash
    assert "hợp lệ: 5 mục" in verify_cmd()


def test_editing_a_row_in_the_database_is_found(entries: list[AuditEntry]) -> None:
    victim = entries[2]
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_auditentry SET message = %s WHERE id = %s", ["đã sửa", victim.pk])
    with pytest.raises(CommandError, match=f"mục #{victim.pk}: nội dung đã bị sửa"):
        verify_cmd()


def test_deleting_a_row_is_found(entries: list[AuditEntry]) -> None:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    result = verify()
    assert not result.ok and result.broken_id == entries[2].pk and "liên kết" in result.reason


def test_deleting_the_last_row_is_found(entries: list[AuditEntry]) -> None:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].pk])
    assert not verify().ok


def test_rows_cannot_be_changed_through_the_orm(entries: list[AuditEntry]) -> None:
    entry = entries[0]
    entry.message = "khác"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_empty_log_verifies(db: Any) -> None:
    assert verify().ok
