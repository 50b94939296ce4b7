"""Manifest item ids (loa_protocol.items): the programme item an id names, and nothing for any other id."""

from __future__ import annotations

import datetime as dt

from loa_protocol.items import PROGRAMME_ITEM_PREFIX, entry_id, programme_item_pk


def test_programme_item_ids_round_trip_and_other_ids_name_nothing() -> None:
    assert programme_item_pk(f"{PROGRAMME_ITEM_PREFIX}42") == 42
    assert programme_item_pk(f"{PROGRAMME_ITEM_PREFIX}7") == 7
    for other in (
        "bulletin-42",
        "42",
        f"{PROGRAMME_ITEM_PREFIX}",
        f"{PROGRAMME_ITEM_PREFIX}4x",
        f"x{PROGRAMME_ITEM_PREFIX}4",
    ):
        assert programme_item_pk(other) is None, other


def test_entry_ids_are_utc_and_positional() -> None:
    start = dt.datetime(2026, 12, 5, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert entry_id(12, start, 1) == "s12-20261204T230000Z-1"
