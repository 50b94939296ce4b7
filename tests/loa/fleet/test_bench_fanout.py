"""``loa bench fanout`` end to end at a small size: its own Mosquitto, the gateway, the web process and two
simulator processes; one play-now command through the HTTP API reaches every device, and the one JSON object the
command prints has the figures docs/benchmarks.md records."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from loa.fleet import broker

pytestmark = pytest.mark.mqtt


@pytest.mark.parametrize("transport", ["lean", "aiomqtt"])
def test_bench_fanout_reaches_every_device_and_prints_its_figures(
    transactional_db: None, transport: str
) -> None:
    """With either MQTT connection of the simulated agents (lean, the default: ADR 0021)."""
    if broker.mosquitto_binary() is None:
        pytest.skip("cần Mosquitto (apt-get install mosquitto)")
    out = io.StringIO()
    call_command("bench", "fanout", "--devices", "20", "--repeat", "1", "--processes", "1",
                 "--transport", transport, stdout=out)  # fmt: skip
    result = json.loads(out.getvalue())
    assert result["benchmark"] == "fanout"
    assert result["transport"] == transport
    assert result["devices"] == 20
    assert result["connected"] == 20
    assert result["delivered"] == 20
    assert len(result["runs"]) == 1
    assert all(run["delivered"] == run["started"] == 20 for run in result["runs"])
    for key in ("p50_s", "p99_s", "max_s"):
        assert 0 < result[key] < 30, (key, result)
    assert result["p50_s"] <= result["p99_s"] <= result["max_s"]
    assert result["gateway_rss_mb"] > 0
    assert result["simulator_rss_mb"] > 0
