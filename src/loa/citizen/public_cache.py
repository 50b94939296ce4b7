"""Caching of the public feed: one computation per commune and language until something changes.

The key carries a **stamp of the audit log** (id and time of its last entry). Every change that can alter a public
feed is an audited action — a bulletin published, cancelled or expired (the expiry job records ``bulletin.expire``),
an emergency started or cancelled, a schedule created or cancelled, a programme approved — so a new entry makes
every cached feed miss at once, in every web process (each has its own memory cache; the stamp is read from the
database, one primary-key lookup per request), without a signal to forget. Changes that come with time alone — a
bulletin's validity ending or starting, an emergency's last repetition, midnight — bound each entry's lifetime
(``fresh_until`` of :func:`loa.citizen.public_feed.commune_feed`), and no entry lives more than ``MAX_AGE_S``.

The stamp is coarse (any audited action anywhere misses every feed), which is cheap for a province whose audit log
grows a few entries a minute, and never wrong. A process reads it at most once per ``LOA_PUBLIC_STAMP_TTL_S``
(1 s) and at once after an audit entry written in the same process, so a cached answer costs no database
connection at all; another process's write shows within that second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.db.models.signals import post_save
from django.utils import timezone

from loa.audit.models import AuditEntry

MAX_AGE_S = 60
_cache = LocMemCache("loa-citizen-public", {"TIMEOUT": MAX_AGE_S, "OPTIONS": {"MAX_ENTRIES": 5000}})
_stamp: tuple[float, str] | None = None
_stamp_lock = threading.Lock()


def _read_stamp() -> str:
    last = AuditEntry.objects.order_by("-id").values_list("id", "at").first()
    return f"{last[0]}-{last[1].timestamp():.6f}" if last else "0"


def stamp() -> str:
    """What changes whenever anything audited happens: the last audit entry's id and time (read again after
    ``LOA_PUBLIC_STAMP_TTL_S``, or at once after this process wrote an audit entry)."""
    global _stamp
    ttl = float(getattr(settings, "LOA_PUBLIC_STAMP_TTL_S", 1.0))
    now = time.monotonic()
    with _stamp_lock:
        memo = _stamp
    if memo is not None and now - memo[0] < ttl:
        return memo[1]
    value = _read_stamp()
    with _stamp_lock:
        _stamp = (now, value)
    return value


def fresh_stamp() -> str | None:
    """The stamp this process read less than ``LOA_PUBLIC_STAMP_TTL_S`` ago, else ``None`` (no database access:
    the fast path in front of Django asks this)."""
    ttl = float(getattr(settings, "LOA_PUBLIC_STAMP_TTL_S", 1.0))
    with _stamp_lock:
        memo = _stamp
    if memo is not None and time.monotonic() - memo[0] < ttl:
        return memo[1]
    return None


def stamp_half_old() -> bool:
    """Whether this process's stamp is older than half of ``LOA_PUBLIC_STAMP_TTL_S`` (or missing)."""
    ttl = float(getattr(settings, "LOA_PUBLIC_STAMP_TTL_S", 1.0))
    with _stamp_lock:
        memo = _stamp
    return memo is None or time.monotonic() - memo[0] >= ttl / 2


def refresh_stamp() -> None:
    """Read the stamp now (the fast path's worker thread, outside any request: the connection is closed after, as
    a request would)."""
    global _stamp
    from django.db import close_old_connections, connection

    close_old_connections()
    try:
        now = time.monotonic()
        value = _read_stamp()
        with _stamp_lock:
            if _stamp is None or _stamp[0] < now:
                _stamp = (now, value)
    finally:
        connection.close()


def _forget_stamp(**_kwargs: Any) -> None:
    global _stamp
    with _stamp_lock:
        _stamp = None


post_save.connect(_forget_stamp, sender=AuditEntry, dispatch_uid="loa.citizen.public_cache")


def cached(
    key: str, build: Callable[[], tuple[Any, dt.datetime | None]], *, now: dt.datetime | None = None
) -> Any:
    """The value under ``key`` (which must include :func:`stamp`), else ``build()`` → (value, fresh until)."""
    hit = _cache.get(key)
    if hit is not None:
        return hit
    value, fresh_until = build()
    now = now or timezone.now()
    timeout = float(MAX_AGE_S)
    if fresh_until is not None:
        timeout = max(0.0, min(timeout, (fresh_until - now).total_seconds()))
    if timeout > 0:
        _cache.set(key, value, timeout)
    return value


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def weak_etag(*parts: str) -> str:
    """An ETag for answers that differ only in when they were made ("updated at"): the same in every process."""
    return 'W/"' + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32] + '"'


def clear() -> None:
    """Forget everything (tests that change rows without the audited actions)."""
    _forget_stamp()
    _cache.clear()
