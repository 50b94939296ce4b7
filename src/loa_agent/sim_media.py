"""The simulated devices' media cache: the same contract as :class:`loa_agent.media.MediaCache` (fetch over HTTP(S),
check the sha256, keep it by its hash), in the simulator's event loop.

Thousands of simulated devices share one Python process, where a real device has a CPU of its own. Measured on the
2-core bench machine, 3,000 ``GET`` requests for a 50 KB file from one local server, one connection each, from one process:
httpx's async client 1.6 ms of CPU per download, aiohttp 0.6 ms, one HTTP/1.1 ``GET`` on an asyncio stream (this
module) 0.37 ms; httpx in a thread pool, as the reference agent fetches, took 8 ms per 200 KB download inside
``loa bench emergency --download``. With this cache the benchmark measures the server and the network path rather
than the simulator's HTTP client.

It does what a device must — a ``GET`` with the device's own HTTP Basic credentials (never to another origin: the
runtime decides, :meth:`loa_agent.runtime.AgentRuntime.media_auth`), ``401``/``403`` is ``media_forbidden``, any
other answer but ``200`` is ``download_failed``, a body over :data:`loa_agent.media.MAX_MEDIA_BYTES` is
``too_large``, a hash that differs is ``sha256_mismatch``, and only a verified file is kept (written to a temporary
name, renamed) — and no more: one request per connection (``Connection: close``), no redirects, no ``fsync``
(thousands of devices' flash writes are not one disk's).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import ssl
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from loa_agent.media import MAX_MEDIA_BYTES, CacheDirectory, MediaError

HEAD_LIMIT = 64 * 1024
TIMEOUT_S = 60.0


class SimulatedMediaCache(CacheDirectory):
    """``<directory>/<sha256>`` files, fetched in the event loop (:meth:`fetch_async`)."""

    def __init__(self, directory: Path, timeout: float = TIMEOUT_S) -> None:
        super().__init__(directory)
        self.timeout = timeout

    def fetch(self, url: str, sha256: str, auth: tuple[str, str] | None = None) -> Path:
        """The blocking form of :meth:`fetch_async` (what :class:`loa_agent.media.MediaFetcher` asks)."""
        cached = self.cached_path(sha256)
        if cached is not None:
            return cached
        return asyncio.run(self.fetch_async(url, sha256, auth))

    async def fetch_async(self, url: str, sha256: str, auth: tuple[str, str] | None = None) -> Path:
        cached = self.cached_path(sha256)
        if cached is not None:
            return cached
        try:
            body = await asyncio.wait_for(_get(url, auth), self.timeout)
        except TimeoutError:  # before OSError, of which it is a kind
            raise MediaError(
                "download_failed", f"Tải tệp âm thanh quá {self.timeout:.0f} giây ({url})."
            ) from None
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            IndexError,
        ) as exc:
            # IndexError, ValueError: an answer that is not HTTP (no status code, a length that is not a number)
            raise MediaError("download_failed", f"Tải tệp âm thanh thất bại: {exc!r} ({url}).") from None
        got = hashlib.sha256(body).hexdigest()
        if got != sha256:
            raise MediaError(
                "sha256_mismatch", f"Mã băm sha256 của tệp tải về không khớp: {got} ≠ {sha256} ({url})."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / sha256
        # a name of its own: a command and a prefetch of the same file may finish at the same time
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".dl-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path


async def _get(url: str, auth: tuple[str, str] | None) -> bytes:
    """The body of a ``200`` answer to one ``GET`` of ``url``; raises :class:`MediaError` for any other answer."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MediaError("download_failed", f"Địa chỉ tệp âm thanh không hợp lệ ({url}).")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", "Connection: close", "Accept-Encoding: identity"]
    if auth is not None:
        lines.append("Authorization: Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=tls, limit=HEAD_LIMIT)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if status in (401, 403):
            raise MediaError("media_forbidden", f"Máy chủ từ chối tải tệp âm thanh: HTTP {status} ({url}).")
        if status != 200:
            raise MediaError("download_failed", f"Tải tệp âm thanh thất bại: HTTP {status} ({url}).")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise MediaError("download_failed", f"Máy chủ gửi tệp không kèm độ dài (chunked) ({url}).")
        length = headers.get("content-length")
        if length is not None:
            if int(length) > MAX_MEDIA_BYTES:
                raise MediaError("too_large", f"Tệp âm thanh vượt quá {MAX_MEDIA_BYTES} byte ({url}).")
            return await reader.readexactly(int(length))
        body = bytearray()
        while chunk := await reader.read(256 * 1024):  # no length: to the end of the connection
            body += chunk
            if len(body) > MAX_MEDIA_BYTES:
                raise MediaError("too_large", f"Tệp âm thanh vượt quá {MAX_MEDIA_BYTES} byte ({url}).")
        return bytes(body)
    finally:
        writer.close()
