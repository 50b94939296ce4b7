"""The production web server (uvicorn running ``loa.asgi``) in a thread of the test process, on the test database,
that a test can stop and start again on the same port — what the board player's push stream needs (an ASGI
streaming response; pytest-django's ``live_server`` is WSGI and cannot be stopped mid-test)."""

from __future__ import annotations

import threading
from typing import Any

from loa_protocol.ports import release_port, reserve_port
from tests.waiting import wait_until  # type: ignore[import-not-found]


class AsgiServer:
    def __init__(self) -> None:
        self.port = reserve_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            "loa.asgi:application",
            host="127.0.0.1",
            port=self.port,
            log_level="critical",  # the push streams cut at shutdown are expected
            lifespan="off",
            http="httptools",  # as `loa serve` (docs/adr/0020)
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="asgi-server", daemon=True)
        self._thread.start()
        wait_until(lambda: self._server.started, 20, message="uvicorn did not start")

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(15)
        assert not self._thread.is_alive(), "uvicorn did not stop"
        self._server = self._thread = None

    def close(self) -> None:
        self.stop()
        release_port(self.port)
