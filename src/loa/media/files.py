"""Serving stored media: a file response with HTTP Range support (seeking in <audio>, resuming on devices).

Under ASGI (``loa serve``) the bytes are streamed by an asynchronous iterator that reads each chunk in a thread, so
the event loop never blocks on the disk and Django does not have to drain a synchronous iterator (which it warns
about, once per file, in the server's log); under WSGI (tests, ``runserver``) a plain ``FileResponse``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

CHUNK = 64 * 1024

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Window:
    """A file object limited to ``length`` bytes from ``start`` (for a 206 answer)."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        self.fh = path.open("rb")
        self.fh.seek(start)
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.fh.read(size)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.fh.close()


async def _chunks(source: Any) -> AsyncIterator[bytes]:
    try:
        while data := await asyncio.to_thread(source.read, CHUNK):
            yield data
    finally:
        await asyncio.to_thread(source.close)


def _stream(request: HttpRequest, source: Any, content_type: str, status: int = 200) -> HttpResponseBase:
    if isinstance(request, ASGIRequest):
        return StreamingHttpResponse(_chunks(source), status=status, content_type=content_type)
    return FileResponse(source, status=status, content_type=content_type)


SAME_FOR_EVERYONE = "loa_same_for_everyone"


def mark_same_for_everyone(response: HttpResponseBase) -> None:
    """This answer does not depend on who asks (a public file's bytes): the outermost middleware drops the ``Vary``
    that the session and language middlewares add, so a shared cache gives one stored copy to every device
    (:class:`loa.console.middleware.SecureHeadersMiddleware`; ADR 0019, deploy/nginx/loa.conf)."""
    setattr(response, SAME_FOR_EVERYONE, True)  # an attribute Django's response classes do not declare


def is_same_for_everyone(response: HttpResponseBase) -> bool:
    return bool(getattr(response, SAME_FOR_EVERYONE, False))


def file_response(
    request: HttpRequest,
    path: Path,
    content_type: str,
    *,
    immutable: bool = False,
    shared: bool = True,
    download_name: str = "",
) -> HttpResponseBase:
    """Answer with ``path``: whole (200), one byte range (206) or an unsatisfiable range (416).

    ``immutable``: content-addressed bytes, cached for a year; ``shared`` says whether a shared cache (nginx, a
    CDN) may keep them (``public``) or only the client that asked (``private``: media not yet published)."""
    size = path.stat().st_size
    header = request.headers.get("Range", "")
    match = _RANGE.match(header.strip()) if header else None
    response: HttpResponseBase
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:  # suffix range: the last N bytes
            start = max(0, size - int(last))
            end = size - 1
        if start >= size or end < start:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = _stream(request, _Window(path, start, end - start + 1), content_type, status=206)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = _stream(request, path.open("rb"), content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    if download_name:
        response["Content-Disposition"] = f'inline; filename="{download_name}"'
    if immutable:  # content-addressed: the bytes behind this URL never change
        response["Cache-Control"] = f"{'public' if shared else 'private'}, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
