"""What the public app shows, read only: communes to choose from (by name, with or without diacritics, or by
distance from the phone), and a commune's feed — the published bulletins of the commune and its province, what
plays on its loudspeakers today, and the emergencies in force.

Everything here returns plain JSON-ready dicts built field by field from an allow-list (``public_bulletin``):
no author, e-mail, creator, approval, note or internal state ever leaves this module. A bulletin is public only
while it is published, its validity has started and has not passed (:func:`public_bulletins`); the same rule
guards its page, its audio and its images (:mod:`loa.citizen.public_access`).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from loa.broadcast.compile import schedule_entries
from loa.broadcast.emergency import COMMAND_TTL_S
from loa.broadcast.models import Emergency, Programme, ProgrammeItem, Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa.citizen.public_cache import stamp
from loa.content.models import Attachment, Bulletin, ContentType, Field, Priority, State
from loa.fleet.models import Device
from loa.units.models import Level, Unit
from loa_protocol import items

FEED_LIMIT = 30
SEARCH_LIMIT = 20


# ---- communes ------------------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without diacritics ("Phường Hà Tu" → "phuong ha tu"; đ → d), for search both ways."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().split())


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    province: str
    folded: str
    points: tuple[tuple[float, float], ...]  # the commune's own position, then its clusters'

    def as_dict(self, distance_km: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name, "province": self.province}
        if distance_km is not None:
            out["distance_km"] = round(distance_km, 1)
        return out


_places: tuple[float, str, list[Place]] | None = None
_places_lock = threading.Lock()
PLACES_TTL_S = 300.0


def places(refresh: bool = False) -> list[Place]:
    """Every active commune with its province's name and known positions (the unit's and its active clusters'),
    read once per process and audit stamp (a unit or a cluster added or moved is audited), at least every five
    minutes: 3,321 communes and their clusters fit in memory easily."""
    global _places
    now, current = time.monotonic(), stamp()
    with _places_lock:
        memo = _places
    if not refresh and memo is not None and memo[1] == current and now - memo[0] < PLACES_TTL_S:
        return memo[2]
    provinces = dict(Unit.objects.provinces().values_list("pk", "name"))
    communes = list(
        Unit.objects.communes()
        .filter(is_active=True)
        .values_list("pk", "code", "name", "parent_id", "path", "latitude", "longitude")
    )
    points: dict[str, list[tuple[float, float]]] = {}
    for _pk, code, _name, _parent, _path, lat, lon in communes:
        if lat is not None and lon is not None:
            points.setdefault(code, []).append((lat, lon))
    devices = (
        Device.objects.active()
        .filter(latitude__isnull=False, longitude__isnull=False)
        .values_list("unit__path", "latitude", "longitude")
    )
    commune_of_path = {c[4]: c[1] for c in communes}
    for path, lat, lon in devices:
        # the commune is the first two segments below the province: "22/06652/…" → "22/06652/"
        parts = path.split("/")
        found = commune_of_path.get("/".join(parts[:2]) + "/") if len(parts) > 2 else None
        if found is not None and lat is not None and lon is not None:
            points.setdefault(found, []).append((lat, lon))
    out = [
        Place(code, name, provinces.get(parent, ""), fold(name), tuple(points.get(code, ())))
        for _pk, code, name, parent, _path, _lat, _lon in communes
    ]
    out.sort(key=lambda p: (p.folded, p.province))
    with _places_lock:
        _places = (now, current, out)
    return out


def search_communes(q: str, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Communes whose name holds every word of ``q``, diacritics or not ("ha tu" finds "Phường Hà Tu"); a name
    that starts with the words (after its kind) comes first. A 5-digit code finds its commune."""
    words = fold(q).split()
    if not words:
        return []
    found: list[tuple[int, Place]] = []
    for p in places():
        if q.strip() == p.code:
            found.append((0, p))
            continue
        name = f" {p.folded} {fold(p.province)}"
        if all(f" {w}" in name for w in words):
            phrase = " ".join(words)
            rank = 1 if f" {phrase}" in f" {p.folded}" else 2
            found.append((rank, p))
    found.sort(key=lambda t: (t[0], len(t[1].folded), t[1].folded))
    return [p.as_dict() for _r, p in found[:limit]]


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def near_communes(lat: float, lon: float, limit: int = 5) -> list[dict[str, Any]]:
    """The communes nearest to a position: by the nearest of their known points (the commune's reference point
    and its loudspeaker clusters). Communes without any position are not offered."""
    scored = []
    for p in places():
        if p.points:
            scored.append((min(haversine_km((lat, lon), pt) for pt in p.points), p))
    scored.sort(key=lambda t: t[0])
    return [p.as_dict(d) for d, p in scored[:limit]]


def commune_by_code(code: str) -> Unit | None:
    return (
        Unit.objects.select_related("parent").filter(code=code, level=Level.COMMUNE, is_active=True).first()
    )


# ---- bulletins -----------------------------------------------------------------------------------------------


def public_bulletins(now: dt.datetime | None = None) -> QuerySet[Bulletin]:
    """Bulletins anyone may read now: published, their validity started and not passed. Drafts, bulletins
    waiting for or past approval but not published, cancelled and expired ones (also those the expiry job has
    not reached yet) are never in it."""
    now = now or timezone.now()
    return Bulletin.objects.filter(state=State.PUBLISHED).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=now),
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
    )


def area_paths(commune: Unit) -> list[str]:
    """The commune's own path and its province's (what a bulletin may be addressed to, besides zones)."""
    return [commune.parent.path, commune.path] if commune.parent is not None else [commune.path]


def commune_bulletins(commune: Unit, now: dt.datetime | None = None) -> QuerySet[Bulletin]:
    """Published bulletins of the commune and of its province that reach it: addressed to the province, the
    commune or one of its zones (a province bulletin sent to other communes only is not here)."""
    origin = Q(origin_unit__path__in=area_paths(commune))
    reaches = Q(receivers__path__in=area_paths(commune)) | Q(receivers__path__startswith=commune.path)
    ids = public_bulletins(now).filter(origin, reaches).values("pk")
    return Bulletin.objects.filter(pk__in=ids)


def audio_url(b: Bulletin) -> str:
    return f"/congdan/ban-tin/{b.pk}/am-thanh.mp3" if b.audio_asset_id else ""


def image_url(b: Bulletin, attachment_id: int) -> str:
    return f"/congdan/ban-tin/{b.pk}/anh/{attachment_id}/"


def _local(value: dt.datetime | None) -> str | None:
    return value.astimezone(LOCAL_TZ).isoformat() if value else None


def _local_text(value: dt.datetime | None) -> str:
    """As people read it in Viet Nam: "14:30 05/12/2026" (Asia/Ho_Chi_Minh)."""
    return f"{value.astimezone(LOCAL_TZ):%H:%M %d/%m/%Y}" if value else ""


def public_bulletin(b: Bulletin, images: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The public fields of a bulletin, and nothing else (an allow-list: no author, e-mail, user, note)."""
    return {
        "id": b.pk,
        "uid": str(b.uid),
        "title": b.title,
        "summary": b.summary,
        "body": b.body,
        "field": b.field,
        "field_label": str(Field(b.field).label) if b.field in Field.values else "",
        "content_type": b.content_type,
        "content_type_label": content_type_label(b.content_type),
        "priority": b.priority,
        "emergency": b.priority == Priority.EMERGENCY,
        "language": b.language,
        "news_source": b.news_source,
        "origin": b.origin_unit.name,
        "published_at": _local(b.published_at),
        "published_text": _local_text(b.published_at),
        "valid_until": _local(b.valid_until),
        "valid_until_text": _local_text(b.valid_until),
        "duration_s": b.duration_s,
        "audio_url": audio_url(b),
        "images": images or [],
        "url": f"/congdan/ban-tin/{b.pk}/",
    }


def _images(bulletins: list[Bulletin]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    rows = Attachment.objects.filter(
        bulletin__in=bulletins, kind=Attachment.Kind.IMAGE, asset__kind="image"
    ).order_by("pk")
    by_pk = {b.pk: b for b in bulletins}
    for att in rows.only("pk", "bulletin_id", "title"):
        out.setdefault(att.bulletin_id, []).append(
            {"url": image_url(by_pk[att.bulletin_id], att.pk), "title": att.title}
        )
    return out


def bulletin_dicts(bulletins: list[Bulletin]) -> list[dict[str, Any]]:
    images = _images(bulletins)
    return [public_bulletin(b, images.get(b.pk)) for b in bulletins]


# ---- today on the loudspeakers -------------------------------------------------------------------------------


def reaching_schedules(commune: Unit) -> QuerySet[Schedule]:
    """Active schedules of approved programmes whose targets reach the commune: its province, itself, one of its
    zones or one of its clusters."""
    targets = (
        Q(target_units__path__in=area_paths(commune))
        | Q(target_units__path__startswith=commune.path)
        | Q(target_devices__unit__path__startswith=commune.path)
    )
    ids = Schedule.objects.filter(targets).values("pk")
    return (
        Schedule.objects.filter(pk__in=ids, state=Schedule.State.ACTIVE)
        .filter(programme__state=Programme.State.APPROVED)
        .select_related("programme")
        .prefetch_related("programme__items__bulletin")
    )


def local_day(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    day = now.astimezone(LOCAL_TZ).date()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_TZ)
    return start, start + dt.timedelta(days=1)


def plays_today(commune: Unit, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """What the commune's loudspeakers play today by schedule: local start and end, and the title of what plays.
    Only approved programmes (``reaching_schedules``), and a bulletin item only while its bulletin is published
    and valid (``schedule_entries`` leaves the others' slots empty). Titles only: no text, no audio."""
    now = now or timezone.now()
    start, end = local_day(now)
    entries: list[dict[str, Any]] = []
    for s in reaching_schedules(commune):
        if s.valid_until is not None and s.valid_until < start.date():
            continue
        entries += schedule_entries(s, start, end)
    pks = {pk for e in entries if (pk := items.programme_item_pk(e["item_id"])) is not None}
    titles = dict(ProgrammeItem.objects.filter(pk__in=pks).values_list("pk", "title"))
    seen: set[tuple[str, str]] = set()
    rows = []
    for e in sorted(entries, key=lambda e: e["start"]):
        pk = items.programme_item_pk(e["item_id"])
        title = titles.get(pk) if pk is not None else None
        if not title:
            continue
        begin = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")).astimezone(LOCAL_TZ)
        finish = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00")).astimezone(LOCAL_TZ)
        key = (f"{begin:%H:%M}", title)
        if key in seen:  # the same item on several targets of the commune is one play for a listener
            continue
        seen.add(key)
        rows.append({"start": f"{begin:%H:%M}", "end": f"{finish:%H:%M}", "title": title,
                     "done": finish <= now.astimezone(LOCAL_TZ)})  # fmt: skip
    return rows


# ---- emergencies ---------------------------------------------------------------------------------------------


def emergency_until(e: Emergency) -> dt.datetime:
    """Until when an emergency broadcast counts as in force for the public: while devices may still play it
    (the command's lifetime, then every repetition) — the broadcast domain's own "last chance"."""
    return e.requested_at + dt.timedelta(seconds=COMMAND_TTL_S + e.repeat * e.duration_s + 60)


def active_emergencies(commune: Unit, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Emergencies in force on the commune: broadcasts to its province, itself or one of its zones, not
    cancelled and still playable; and published emergency bulletins that reach it. Title and text only."""
    now = now or timezone.now()
    earliest = now - dt.timedelta(seconds=COMMAND_TTL_S + 3600 * 3)
    broadcasts = Emergency.objects.filter(
        Q(unit__path__in=area_paths(commune)) | Q(unit__path__startswith=commune.path),
        state=Emergency.State.ACTIVE,
        requested_at__gte=earliest,
    ).select_related("unit")
    out: list[dict[str, Any]] = []
    for e in broadcasts.order_by("-requested_at"):
        until = emergency_until(e)
        if until > now:
            out.append({"kind": "broadcast", "title": e.title, "text": e.text, "area": e.unit.name,
                        "since": _local(e.requested_at), "since_text": _local_text(e.requested_at),
                        "until": until.isoformat(), "url": ""})  # fmt: skip
    for b in (
        commune_bulletins(commune, now).filter(priority=Priority.EMERGENCY).select_related("origin_unit")
    ):
        out.append({"kind": "bulletin", "title": b.title, "text": b.summary or b.body[:500],
                    "area": b.origin_unit.name, "since": _local(b.published_at),
                    "since_text": _local_text(b.published_at),
                    "until": b.valid_until.isoformat() if b.valid_until else None,
                    "url": f"/congdan/ban-tin/{b.pk}/"})  # fmt: skip
    return out


# ---- the feed ------------------------------------------------------------------------------------------------


def commune_feed(commune: Unit, now: dt.datetime | None = None) -> dict[str, Any]:
    """The whole public feed of a commune, and until when it holds without any write (``fresh_until``: the
    next validity start or end among its bulletins, the end of an emergency, local midnight)."""
    now = now or timezone.now()
    bulletins = list(
        commune_bulletins(commune, now)
        .select_related("origin_unit")
        .order_by("priority", "-published_at", "-pk")[:FEED_LIMIT]
    )
    emergencies = active_emergencies(commune, now)
    plays = plays_today(commune, now)
    bounds = [local_day(now)[1]]
    bounds += [b.valid_until for b in bulletins if b.valid_until]
    upcoming = (
        Bulletin.objects.filter(state=State.PUBLISHED, valid_from__gt=now)
        .filter(origin_unit__path__in=area_paths(commune))
        .order_by("valid_from")
        .values_list("valid_from", flat=True)
        .first()
    )
    if upcoming:
        bounds.append(upcoming)
    bounds += [dt.datetime.fromisoformat(e["until"]) for e in emergencies if e.get("until")]
    province = commune.parent
    return {
        "commune": {
            "code": commune.code,
            "name": commune.name,
            "province": province.name if province else "",
            "province_code": province.code if province else "",
        },
        "generated_at": now.isoformat(),
        "generated_text": _local_text(now),
        "emergencies": emergencies,
        "bulletins": bulletin_dicts(bulletins),
        "today": plays,
        "fresh_until": min(bounds).isoformat(),
    }


def bulletin_detail(b: Bulletin) -> dict[str, Any]:
    return bulletin_dicts([b])[0]


def content_type_label(value: int) -> str:
    return str(ContentType(value).label) if value in ContentType.values else ""
