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
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from loa.citizen import public_cache

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

FEED_PATH = re.compile(
    r"^/(?:congdan/xa/[0-9A-Za-z.]{1,16}/|api/v1/public/communes/[0-9A-Za-z.]{1,16}/feed)$"
)
MAX_ENTRIES = 4000
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
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or scope.get("query_string")
            or not (FEED_PATH.match(scope.get("path", "")))
        ):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], _language_cookie(_header(scope, b"cookie")), _header(scope, b"accept-language"))
        kept = self.kept.get(key)
        stamp = public_cache.fresh_stamp()
        if kept is not None and stamp is not None and kept.stamp == stamp and time.time() < kept.until:
            await self._replay(kept, _header(scope, b"if-none-match"), send)
            return
        await self._through_django(key, scope, receive, send)

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

        async def watch(message: Message) -> None:
            nonlocal start, complete
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
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
        with self.lock:
            if len(self.kept) >= MAX_ENTRIES:
                self.kept.clear()
            self.kept[key] = Kept(str(mark["stamp"]), until, 200, headers, b"".join(chunks), etag)


def mark_keepable(request: Any, stamp: str, until: float) -> None:
    """Called by a feed view: its answer for this request may be replayed by :class:`PublicFeedFastPath` while the
    stamp holds, until ``until`` (epoch seconds). Without an ASGI scope (tests, WSGI) it does nothing."""
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope[SCOPE_KEY] = {"stamp": stamp, "until": until}
