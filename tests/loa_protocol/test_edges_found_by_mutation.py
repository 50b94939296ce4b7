"""Cases mutation testing (make mutation) showed no test held: a province's own group topic, no windows at all,
a minute of the day read in the zone asked for (not the machine's)."""

from __future__ import annotations

import datetime as dt

from loa_protocol.topics import group_command_topic, group_unit_codes
from loa_protocol.windows import contains, local_minute


def test_a_province_group_topic_has_one_code() -> None:
    assert group_unit_codes(group_command_topic(["22"])) == ["22"]
    assert group_unit_codes("loa/v1/g/22/cmd") == ["22"]
    assert group_unit_codes("loa/v1/g/cmd") is None


def test_no_windows_means_always_open() -> None:
    assert contains(None, 0) and contains(None, 1439)
    assert not contains(((300, 1260),), 1260)


def test_the_local_minute_is_read_in_the_given_zone() -> None:
    instant = dt.datetime(2026, 12, 5, 23, 30, tzinfo=dt.UTC)  # 06:30 the next day in Hà Nội
    assert local_minute(instant, "Asia/Ho_Chi_Minh") == 6 * 60 + 30
    assert local_minute(instant, dt.timezone(dt.timedelta(hours=-5))) == 18 * 60 + 30
    assert local_minute(instant, "UTC") == 23 * 60 + 30
