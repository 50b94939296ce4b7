"""Topic names of protocol v1: the tree of group topics, device topics, parsing for the gateway."""

from __future__ import annotations

import pytest

from loa_protocol import topics as t

DEV = "loa-0123456789ab"


def test_device_topics() -> None:
    assert t.status_topic(DEV) == "loa/v1/d/loa-0123456789ab/status"
    assert t.presence_topic(DEV) == "loa/v1/d/loa-0123456789ab/presence"
    assert t.playlog_topic(DEV) == "loa/v1/d/loa-0123456789ab/playlog"
    assert t.ack_topic(DEV) == "loa/v1/d/loa-0123456789ab/ack"
    assert t.device_command_topic(DEV) == "loa/v1/dev/loa-0123456789ab/cmd"
    assert t.manifest_topic(DEV) == "loa/v1/dev/loa-0123456789ab/manifest"


def test_group_topics_mirror_the_unit_tree() -> None:
    assert t.group_command_topic(["22"]) == "loa/v1/g/22/cmd"
    assert t.group_command_topic(["22", "06652"]) == "loa/v1/g/22/06652/cmd"
    assert t.group_command_topic(["22", "06652", "06652.001"]) == "loa/v1/g/22/06652/06652.001/cmd"
    assert t.group_unit_codes("loa/v1/g/22/06652/cmd") == ["22", "06652"]
    assert t.group_unit_codes("loa/v1/dev/x/cmd") is None


def test_device_subscriptions_cover_every_ancestor() -> None:
    subs = t.device_subscriptions(DEV, ["22", "06652", "06652.001"])
    assert subs == [
        "loa/v1/dev/loa-0123456789ab/cmd",
        "loa/v1/dev/loa-0123456789ab/manifest",
        "loa/v1/g/22/cmd",
        "loa/v1/g/22/06652/cmd",
        "loa/v1/g/22/06652/06652.001/cmd",
    ]
    # A sibling commune's topic is not among them.
    assert "loa/v1/g/22/06658/cmd" not in subs


@pytest.mark.parametrize(
    "bad", ["loa-0123456789AB", "loa-0123", "dev-0123456789ab", "loa-0123456789ab/#", "+"]
)
def test_bad_device_ids_are_refused(bad: str) -> None:
    with pytest.raises(t.TopicError) as exc:
        t.status_topic(bad)
    assert exc.value.code == "invalid_device_id"
    assert "Mã thiết bị không hợp lệ" in exc.value.message


@pytest.mark.parametrize("codes", [["22", "+"], ["22", "#"], ["22/06652"], ["22", ""]])
def test_wildcards_and_slashes_in_unit_codes_are_refused(codes: list[str]) -> None:
    with pytest.raises(t.TopicError) as exc:
        t.group_command_topic(codes)
    assert exc.value.code == "invalid_unit_code"


def test_empty_unit_path_is_refused() -> None:
    with pytest.raises(t.TopicError) as exc:
        t.group_command_topic([])
    assert exc.value.code == "empty_unit_path"


def test_device_id_from_topic() -> None:
    assert t.device_id_from_topic("loa/v1/d/loa-0123456789ab/status") == DEV
    assert t.parse_device_topic("loa/v1/d/loa-0123456789ab/playlog") == (DEV, "playlog")
    for topic in [
        "loa/v1/d/loa-0123456789ab/other",
        "loa/v2/d/loa-0123456789ab/status",
        "loa/v1/d/evil/status",
        "loa/v1/dev/loa-0123456789ab/cmd",
        "loa/v1/d/loa-0123456789ab/status/x",
    ]:
        assert t.device_id_from_topic(topic) is None, topic


def test_gateway_filters_match_device_topics() -> None:
    from paho.mqtt.client import topic_matches_sub

    for kind, topic_filter in zip(t.DEVICE_KINDS, t.GATEWAY_FILTERS, strict=True):
        assert topic_matches_sub(topic_filter, f"loa/v1/d/{DEV}/{kind}")
        assert not topic_matches_sub(topic_filter, t.device_command_topic(DEV))


def test_new_device_id_is_valid_and_random() -> None:
    ids = {t.new_device_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(t.is_device_id(i) for i in ids)
