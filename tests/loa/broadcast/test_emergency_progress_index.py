"""An emergency's live progress (its API answer right after the call, the console's progress page) reads the play
logs of that emergency only, through an index on the item id — not every play log of the province.

Found by `loa bench emergency --repeat 10`: the API call's own time grew from 0.2 s to 1.8 s over ten runs at 10,000
devices, each run adding 20,000 play logs the next emergency's progress query scanned."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from loa.broadcast import emergency as em
from loa.broadcast.models import Emergency
from loa.units.models import Unit

INDEX = "playlog_item_kind"


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # a test table is tiny, so PostgreSQL would scan it anyway: ask whether the index can serve the query
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def test_progress_and_status_find_the_play_logs_by_the_emergency_item_index(tree: dict[str, Unit]) -> None:
    now = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)
    e = Emergency.objects.create(
        unit=tree["province"], title="Cảnh báo lũ", item_id=f"em-{uuid.uuid4().hex}", sha256="0" * 64,
        media_url="/media/x.mp3", duration_s=10, repeat=1, command_id=uuid.uuid4(), requested_at=now,
    )  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        p = em.progress(e)
        em.status(e, p, now=now + dt.timedelta(days=1))  # long past its last chance: reads the last "end" log
    on_logs: list[dict[str, Any]] = [q for q in queries.captured_queries if "fleet_playlog" in q["sql"]]
    assert len(on_logs) >= 4  # starts, ends, errors; the last end of status()
    for q in on_logs:
        plan = _plan(q["sql"])
        assert INDEX in plan, f"{q['sql']}\n→ {plan}"
