"""The media cache over real HTTP: verified by sha256, stored atomically, refused on mismatch."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from loa_agent.media import MediaCache, MediaError

AUDIO = b"ID3" + bytes(range(256)) * 64


@pytest.fixture
def http_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/m.mp3":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(AUDIO)))
            self.end_headers()
            self.wfile.write(AUDIO)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_verifies_and_caches(http_url: str, tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media")
    sha = hashlib.sha256(AUDIO).hexdigest()
    assert cache.cached_path(sha) is None
    path = cache.fetch(http_url + "/m.mp3", sha)
    assert path == tmp_path / "media" / sha and path.read_bytes() == AUDIO
    assert cache.fetch("http://127.0.0.1:1/unreachable", sha) == path  # from the cache, no network
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == [sha]


def test_mismatch_and_http_errors_leave_nothing_behind(http_url: str, tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media")
    with pytest.raises(MediaError) as exc:
        cache.fetch(http_url + "/m.mp3", "00" * 32)
    assert exc.value.code == "sha256_mismatch" and "không khớp" in exc.value.message
    with pytest.raises(MediaError) as exc:
        cache.fetch(http_url + "/nope.mp3", "00" * 32)
    assert exc.value.code == "download_failed"
    with pytest.raises(MediaError) as exc:
        cache.fetch("http://127.0.0.1:1/x", "00" * 32)
    assert exc.value.code == "download_failed"
    assert list((tmp_path / "media").iterdir()) == []
