"""Stored media served under ASGI (``loa serve``): the bytes stream through an asynchronous iterator, whole and by
Range, and equal the file's; under WSGI the same function still answers a plain file response."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

from django.http import FileResponse, StreamingHttpResponse
from django.test import AsyncRequestFactory, RequestFactory

from loa.media.files import file_response


async def _body(response: StreamingHttpResponse) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])  # type: ignore[union-attr]


def test_asgi_streams_asynchronously_whole_and_by_range(tmp_path: Path) -> None:
    path = tmp_path / "a.mp3"
    data = bytes(range(256)) * 1000  # 256,000 bytes: several chunks
    path.write_bytes(data)
    factory = AsyncRequestFactory()

    whole = file_response(factory.get("/media/files/a.mp3"), path, "audio/mpeg", immutable=True)
    assert isinstance(whole, StreamingHttpResponse) and whole.is_async
    assert whole.status_code == 200 and whole["Content-Length"] == str(len(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django's "must consume synchronous iterators" would be raised here
        assert asyncio.run(_body(whole)) == data

    part = file_response(factory.get("/m", headers={"Range": "bytes=70000-200009"}), path, "audio/mpeg")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 70000-200009/{len(data)}"
    assert asyncio.run(_body(part)) == data[70000:200010]  # type: ignore[arg-type]


def test_wsgi_keeps_a_plain_file_response(tmp_path: Path) -> None:
    path = tmp_path / "a.mp3"
    path.write_bytes(b"x" * 1000)
    response = file_response(RequestFactory().get("/m", HTTP_RANGE="bytes=10-19"), path, "audio/mpeg")
    assert isinstance(response, FileResponse) and response.status_code == 206
    assert b"".join(response.streaming_content) == b"x" * 10  # type: ignore[arg-type]
