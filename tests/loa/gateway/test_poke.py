"""The outbox poke: a process that committed a command wakes the gateway at once; a lost poke costs nothing."""

from __future__ import annotations

import time

from loa.gateway.service import Gateway, GatewayOptions, _poke_path, poke_outbox


def test_poke_wakes_the_outbox_and_the_socket_is_removed_on_stop() -> None:
    gateway = Gateway(GatewayOptions(url="mqtt://127.0.0.1:1", client_id="loa-gateway-test-poke"))
    poke_outbox()  # nobody listening: nothing happens, nothing raises
    gateway._listen_for_pokes()
    path = _poke_path("loa-gateway-test-poke")
    try:
        assert path.exists()
        poke_outbox()
        deadline = time.monotonic() + 5
        while not gateway._poked.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gateway._poked.is_set()
        started = time.monotonic()  # the poke ends the current gathering of a batch early
        assert gateway.pending.take(10, wait=5.0) == []
        assert time.monotonic() - started < 1.0
    finally:
        gateway.stop()
        gateway._stop_listening()
    assert not path.exists()
    poke_outbox()  # the gateway is gone: still nothing raises
