"""A commune's feed (page and JSON) answered from memory, in front of Django, while nothing changed.

When a commune's emergency starts, everyone there opens the app at once. The feed is already computed once per
commune, language and audit stamp (:mod:`loa.citizen.public_cache`); what remains per request is Django's ASGI
handler and middleware — about 2 ms of CPU against 0.2 ms for uvicorn itself. This ASGI wrapper keeps, per feed
address and language inputs (the language cookie and ``Accept-Language``, which are all Django's choice depends
on), the complete answer Django gave — status, every header (the security headers too), body — together with the
audit stamp and the instant it was made for, and replays it (or a 304 for a matching ``If-None-Match``) while:

* this process read the same stamp less than ``LOA_PUBLIC_STAMP_TTL_S`` ago (:func:`public_cache.fresh_stamp`;
  an audit entry written in this process forgets it at once), and
* the answer's own validity has not passed (a bulletin's end, an emergency's last repetition, midnight, 60 s).

Otherwise the request goes to Django as usual, which refreshes the stamp and, through the request's ASGI scope
(``loa.public_cache``), tells this wrapper that its answer may be kept. Only anonymous-safe answers are kept: the
feed views mark them, and an answer that sets a cookie is never kept.

The same holds for **public media files** (``/media/files/<sha256>.mp3``): when an emergency starts, every
loudspeaker cluster of the area fetches its audio within the same second (ADR 0019). The media view marks a whole
answer (no ``Range``) for a file anyone may fetch (:func:`loa.media.file_access.public_until`: a published
bulletin's, an emergency's in force) and at most ``MAX_BODY_BYTES`` long; it is replayed to every request of the
same address, whatever its credentials — the rule serves public files to anyone — while the stamp holds (a
bulletin withdrawn or an emergency cancelled is an audited action) and until the file stops being public. While one
request for an address is on its way through Django, the others for it wait and get its answer (made after they
arrived, so as new as their own would be) instead of all going through Django at once; and while answers are
replayed, the stamp is read again in a worker thread before it is too old to replay on.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from loa.citizen import public_cache

logger = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

FEED_PATH = re.compile(
    r"^/(?:congdan/xa/[0-9A-Za-z.]{1,16}/|api/v1/public/communes/[0-9A-Za-z.]{1,16}/feed"
    r"|media/files/[0-9a-f]{64}\.mp3)$"
)
MEDIA_PREFIX = "/media/files/"
MAX_ENTRIES = 4000
# a public file longer than this is sent, not kept (an emergency's speech: ≈ 50–100 KB)
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_KEPT_BYTES = 64 * 1024 * 1024  # all kept answers together
LEADER_WAIT_S = 10.0  # how long a request waits for the same address's answer on its way through Django
SCOPE_KEY = "loa.public_cache"
KEPT_ON_304 = {b"etag", b"cache-control", b"vary", b"date", b"expires"}


@dataclass(frozen=True)
class Kept:
    stamp: str
    until: float  # time.time() after which the answer is made again
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    made: float = 0.0  # time.monotonic() when Django's answer was kept


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return b""


def _language_cookie(cookie: bytes) -> bytes:
    for part in cookie.split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == b"django_language":
            return value
    return b""


class PublicFeedFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.kept: dict[tuple[str, bytes, bytes], Kept] = {}
        self.kept_bytes = 0
        self.lock = threading.Lock()
        self.on_the_way: dict[tuple[str, bytes, bytes], asyncio.Event] = {}
        self.refreshing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or scope.get("query_string")
            or not (FEED_PATH.match(scope.get("path", "")))
        ):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(MEDIA_PREFIX):
            if _header(scope, b"range"):  # a part of a file: Django answers it (206)
                await self.app(scope, receive, send)
                return
            key = (path, b"", b"")  # a public file is the same for everyone
        else:
            key = (path, _language_cookie(_header(scope, b"cookie")), _header(scope, b"accept-language"))
        if await self._replayed(key, scope, send):
            return
        leader = self.on_the_way.get(key)
        if leader is not None:  # the same address is on its way through Django: wait for its answer
            arrived = time.monotonic()
            try:
                await asyncio.wait_for(leader.wait(), LEADER_WAIT_S)
            except TimeoutError:
                pass
            # an answer made after this request arrived is as new as one made for it
            kept = self.kept.get(key)
            if kept is not None and kept.made >= arrived and time.time() < kept.until:
                self._refresh_ahead()
                await self._replay(kept, _header(scope, b"if-none-match"), send)
                return
            if await self._replayed(key, scope, send):
                return
            await self._through_django(key, scope, receive, send)
            return
        self.on_the_way[key] = event = asyncio.Event()
        try:
            await self._through_django(key, scope, receive, send)
        finally:
            del self.on_the_way[key]
            event.set()

    async def _replayed(self, key: tuple[str, bytes, bytes], scope: Scope, send: Send) -> bool:
        kept = self.kept.get(key)
        stamp = public_cache.fresh_stamp()
        if kept is not None and stamp is not None and kept.stamp == stamp and time.time() < kept.until:
            self._refresh_ahead()
            await self._replay(kept, _header(scope, b"if-none-match"), send)
            return True
        return False

    def _refresh_ahead(self) -> None:
        """While answers are replayed, read the stamp again in a worker thread once it is half its age limit old,
        so that a stream of requests does not fall, every ``LOA_PUBLIC_STAMP_TTL_S``, into one slow pass through
        Django that the others wait for (measured: 0.2–0.6 s on a loaded web process, 3,000 devices fetching)."""
        if self.refreshing or not public_cache.stamp_half_old():
            return
        self.refreshing = True
        refresh = asyncio.get_running_loop().run_in_executor(None, public_cache.refresh_stamp)
        refresh.add_done_callback(self._refreshed)

    def _refreshed(self, refresh: asyncio.Future[None]) -> None:
        self.refreshing = False
        if not refresh.cancelled() and refresh.exception() is not None:  # the next pass through Django tells
            logger.warning("Không đọc lại được dấu thời gian nhật ký: %s", refresh.exception())

    async def _replay(self, kept: Kept, if_none_match: bytes, send: Send) -> None:
        asked = [t.strip() for t in if_none_match.split(b",")] if if_none_match else []
        if kept.etag and (kept.etag in asked or kept.etag.removeprefix(b"W/") in asked):
            headers = [(k, v) for k, v in kept.headers if k in KEPT_ON_304]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": kept.status, "headers": kept.headers})
        await send({"type": "http.response.body", "body": kept.body})

    async def _through_django(
        self, key: tuple[str, bytes, bytes], scope: Scope, receive: Receive, send: Send
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        complete = False

        size = 0

        async def watch(message: Message) -> None:
            nonlocal start, complete, size
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body = bytes(message.get("body", b""))
                size += len(body)
                if size <= MAX_BODY_BYTES:  # a longer answer is sent, not kept
                    chunks.append(body)
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, watch)
        mark = scope.get(SCOPE_KEY)
        if not mark or start is None or not complete or start["status"] != 200:
            return
        headers = [(bytes(k).lower(), bytes(v)) for k, v in start.get("headers", [])]
        if any(k == b"set-cookie" for k, _v in headers):
            return
        etag = next((v for k, v in headers if k == b"etag"), b"")
        until = min(float(mark["until"]), time.time() + public_cache.MAX_AGE_S)
        if size > MAX_BODY_BYTES:
            return
        body = b"".join(chunks)
        with self.lock:
            if len(self.kept) >= MAX_ENTRIES or self.kept_bytes + len(body) > MAX_KEPT_BYTES:
                self.kept.clear()
                self.kept_bytes = 0
            previous = self.kept.get(key)
            self.kept_bytes += len(body) - (len(previous.body) if previous else 0)
            self.kept[key] = Kept(str(mark["stamp"]), until, 200, headers, body, etag, time.monotonic())


def mark_keepable(request: Any, stamp: str, until: float) -> None:
    """Called by a feed view or the media view: its answer for this request may be replayed by
    :class:`PublicFeedFastPath` while the stamp holds, until ``until`` (epoch seconds). Without an ASGI scope (tests,
    WSGI) it does nothing."""
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope[SCOPE_KEY] = {"stamp": stamp, "until": until}
