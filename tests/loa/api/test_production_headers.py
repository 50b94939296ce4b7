"""The real web server (``loa serve``, uvicorn) does not name itself (issue 20, item 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from loa_protocol.ports import reserve_port


@pytest.mark.timeout(120)
def test_loa_serve_sends_no_server_header(tmp_path: Path) -> None:
    port = reserve_port()
    env = dict(os.environ, LOA_DATA_DIR=str(tmp_path), LOA_MODE="embedded")
    env.pop("LOA_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa.cli", "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        response = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, proc.stderr.read().decode() if proc.poll() is not None else "no answer"
        assert response.status_code == 200
        assert "server" not in {k.lower() for k in response.headers}, response.headers
    finally:
        proc.terminate()
        proc.wait(20)
