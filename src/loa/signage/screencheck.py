"""The screenshot-mismatch alarm (issue 9, regulations.md §8): does a board's screenshot show what its signed manifest
says it shows?

When a board's screenshot is stored (:func:`loa.fleet.boards.ingest_screenshot` sends ``screenshot_received``), it is
compared with the **expected renders** of the board's current manifest (and of the one before, if it changed in the
last :data:`GRACE`) — at once when they are all drawn already, else in a job (:mod:`loa.jobs`) that draws them first,
so the upload never waits for Chromium (:func:`check_now_or_later`):

* every distinct main-zone slide of the manifest's timeline, drawn by the reference player itself in headless
  Chromium at the board's resolution, then captured with the player's own ``drawScreen()`` (the same code that
  draws the board's screenshot), kept by content in :class:`~loa.signage.models.ExpectedRender` so boards with the
  same screen and content share one render;
* the player's idle page (nothing scheduled now), and a black screen when the kill switch is on or the screen-on
  windows are closed.

Only the **main zone** is compared (the ticker scrolls and the clock ticks); a video slide is drawn at every half
second of its time on screen (the clip paused and sought) and compared with a looser limit (:data:`VIDEO_MAX_BITS`). Two measures must both pass: a 16×16 difference hash (256 bits,
ADR 0018) within :data:`MAX_BITS` bits, and the mean colour of a 4×4 grid within :data:`MAX_COLOUR` (a difference
hash is blind to a flat colour: a green page and a blue picture hash alike). A screenshot that matches none raises
the board's ``screen_mismatch`` alarm (:func:`loa.fleet.boards.do_screen_verdict`); the next one that matches clears
it. An emergency on the board is not judged (``unchecked``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from loa.accounts.system import SYSTEM
from loa.fleet import boards as fleet_boards
from loa.fleet import keys
from loa.fleet.models import BoardScreenshot
from loa.signage import layouts, store
from loa.signage.models import BoardManifestRevision, BoardManifestRow, ExpectedRender
from loa.signage.player_views import ASSET_TYPES, ASSETS
from loa_protocol import board as pb
from loa_protocol.signing import sign

log = logging.getLogger(__name__)

HASH = 16  # a 16×16 difference hash: 256 bits
# at most this many of 256 bits may differ. Measured (docs/signage.md): the same slide drawn by a board whose window
# is 1366×768 instead of 1920×1080, JPEG q0.7: 0–3 bits; other words in the same slide style: 20–29; another page: 26–27
MAX_BITS = 12
GRID = 4  # the colour check: mean RGB of a 4×4 grid of the compared area
MAX_COLOUR = 48  # largest mean difference of the grid (0–255) for a match
BLACK_MAX = 24  # mean brightness (0–255) under which a screenshot counts as a black screen
GRACE = dt.timedelta(minutes=2)  # a board takes a new manifest at its next slide boundary
RENDER_TIMEOUT_MS = 20_000
# distinct slides rendered for one manifest at most (beyond: those of the entries nearest the screenshot's time)
MAX_RENDERS = 150
VIDEO_STEP_S = 0.5  # a video slide is drawn at every half second it is on screen …
VIDEO_FRAMES = 60  # … 60 moments at most, spread over its time on screen
# a moving picture between two drawn moments: measured 17–18 bits on ffmpeg's testsrc (docs/signage.md)
VIDEO_MAX_BITS = 24


# ---- hashing -------------------------------------------------------------------------------------------------


def _area(image: Any, box: list[float], masks: list[list[float]]) -> Any:
    """The RGB crop of ``box`` (fractions of the picture) with ``masks`` (fractions of the picture) filled grey."""
    from PIL import ImageDraw

    rgb = image.convert("RGB")
    w, h = rgb.size
    x0, y0, x1, y1 = box
    crop = rgb.crop((round(x0 * w), round(y0 * h), max(round(x1 * w), 1), max(round(y1 * h), 1)))
    if masks:
        draw = ImageDraw.Draw(crop)
        for mx0, my0, mx1, my1 in masks:
            draw.rectangle(
                ((mx0 - x0) * w, (my0 - y0) * h, (mx1 - x0) * w - 1, (my1 - y0) * h - 1), fill=(128, 128, 128)
            )
    return crop


def dhash(image: Any, box: list[float], masks: list[list[float]] = ()) -> str:  # type: ignore[assignment]
    """The difference hash of an area: grey, resized to 17×16, one bit per pair of horizontal neighbours (left
    brighter than right), 256 bits as 64 hex digits."""
    from PIL import Image

    small = _area(image, box, list(masks)).convert("L").resize((HASH + 1, HASH), Image.Resampling.BOX)
    px = small.tobytes()
    bits = 0
    for y in range(HASH):
        row = px[y * (HASH + 1) : (y + 1) * (HASH + 1)]
        for x in range(HASH):
            bits = (bits << 1) | (row[x] > row[x + 1])
    return f"{bits:0{HASH * HASH // 4}x}"


def colours(image: Any, box: list[float], masks: list[list[float]] = ()) -> str:  # type: ignore[assignment]
    """Mean RGB of a 4×4 grid of the area, as 96 hex digits."""
    from PIL import Image

    return _area(image, box, list(masks)).resize((GRID, GRID), Image.Resampling.BOX).tobytes().hex()


def bits_apart(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def colour_apart(a: str, b: str) -> float:
    x, y = bytes.fromhex(a), bytes.fromhex(b)
    return sum(abs(p - q) for p, q in zip(x, y, strict=True)) / max(len(x), 1)


def brightness(image: Any) -> float:
    from PIL import ImageStat

    return float(ImageStat.Stat(image.convert("L")).mean[0])


# ---- what a manifest says the board shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    key: str
    kind: str
    layout: dict[str, Any]  # the layout as the manifest carries it
    slide: dict[str, Any] | None  # None: the idle page
    box: list[float]  # the main zone, fractions of the screen
    base: str = ""  # the slide's own key (one page load draws all frames of a video)
    at_s: float | None = None  # a video: the moment of the clip drawn


def _layout(layout_id: str, width: int, height: int) -> dict[str, Any]:
    return {
        "layout_id": layout_id,
        "name": layouts.LAYOUT_LABELS.get(layout_id, layout_id),
        "zones": [z.as_dict() for z in layouts.zones(layout_id, width, height)],
    }


def _main_box(layout: dict[str, Any], width: int, height: int) -> list[float]:
    for zone in layout["zones"]:
        if zone["zone_id"] == "main":
            x, y = zone.get("x", 0), zone.get("y", 0)
            return [x / width, y / height, (x + zone["width"]) / width, (y + zone["height"]) / height]
    return [0.0, 0.0, 1.0, 1.0]


def _key(width: int, height: int, layout: dict[str, Any], slide: dict[str, Any] | None) -> str:
    body = None
    if slide is not None:
        body = {k: v for k, v in slide.items() if k not in ("slide_id", "duration_s")}
    raw = json.dumps([width, height, layout, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def expected_of(
    timelines: list[list[dict[str, Any]]], width: int, height: int, now: dt.datetime
) -> list[Expected]:
    """The distinct main-zone slides of ``timelines`` (the nearest to ``now`` first when there are too many) and the
    idle page."""
    idle_layout = _layout("full", width, height)
    out: dict[str, Expected] = {}
    entries = [e for t in timelines for e in t]
    entries.sort(key=lambda e: abs((pb_time(e["start"]) - now).total_seconds()))
    for entry in entries:
        layout = _layout(entry["layout_id"], width, height)
        for slide in entry["slides"]:
            if slide.get("zone") != "main":
                continue
            base = _key(width, height, layout, slide)
            box = _main_box(layout, width, height)
            if slide["kind"] != "video":
                if base not in out and len(out) < MAX_RENDERS:
                    out[base] = Expected(base, slide["kind"], layout, slide, box, base)
                continue
            for at in video_moments(float(slide["duration_s"])):
                key = hashlib.sha256(f"{base}@{at:.2f}".encode()).hexdigest()
                if key not in out and len(out) < MAX_RENDERS:
                    out[key] = Expected(key, "video", layout, slide, box, base, at)
    key = _key(width, height, idle_layout, None)
    out[key] = Expected(key, "idle", idle_layout, None, [0.0, 0.0, 1.0, 1.0], key)
    return list(out.values())


def video_moments(shown_s: float) -> list[float]:
    """The moments of a video slide drawn as expected renders: every :data:`VIDEO_STEP_S` of the time it is on
    screen, at most :data:`VIDEO_FRAMES` spread evenly (the player loops a shorter clip: the page wraps them)."""
    n = max(1, min(VIDEO_FRAMES, math.ceil(shown_s / VIDEO_STEP_S)))
    return [round(i * shown_s / n, 2) for i in range(n)]


def pb_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---- rendering with the player itself ------------------------------------------------------------------------


def chromium_path() -> str | None:
    path = os.environ.get("LOA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.path.exists(path) else None


def _still_manifest(
    device_id: str, version: int, screen: dict[str, Any], item: Expected, now: dt.datetime
) -> bytes:
    """A manifest that shows ``item`` alone and for ever, signed with the fleet key (the player checks it)."""
    timeline = []
    if item.slide is not None:
        slide = {**item.slide, "duration_s": 86400.0}
        timeline = [
            {
                "entry_id": "expected", "start": now - dt.timedelta(days=2), "end": now + dt.timedelta(days=2),
                "playlist_id": "expected", "layout_id": item.layout["layout_id"], "priority": 4, "slides": [slide],
            }
        ]  # fmt: skip
    manifest = pb.BoardManifest.model_validate(
        {
            "device_id": device_id, "version": version, "issued_at": now - dt.timedelta(days=2),
            "valid_until": now + dt.timedelta(days=2), "screen": screen, "windows": [], "closed": False,
            "killed": False, "layouts": [item.layout], "timeline": timeline,
        }
    )  # fmt: skip
    return sign(manifest, keys.private_key()).model_dump_json().encode()


@contextmanager
def player_page(
    device_id: str, screen: dict[str, Any], manifest: list[bytes], viewport: tuple[int, int] | None = None
) -> Iterator[Any]:
    """The reference player in headless Chromium at the screen's resolution, served from this process (no network:
    every request is answered here), enrolled as ``device_id`` with the fleet's public key. ``manifest[0]`` is what
    ``/board/api/manifest`` answers (the caller may change it between loads)."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("Chromium is missing")
    page_html = render_to_string("signage/player/index.html", {}).encode()
    creds = {
        "device_id": device_id,
        "password": "expected-render",
        "unit_codes": [],
        "public_key": keys.public_key(),
        "enrolled_at": "2000-01-01T00:00:00.000Z",
    }

    def answer(route: Any) -> None:
        url = route.request.url.split("?", 1)[0]
        rel = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        if rel in ("/board/", "/board"):
            return route.fulfill(status=200, body=page_html, content_type="text/html; charset=utf-8")
        if rel == "/board/api/manifest":
            return route.fulfill(status=200, body=manifest[0], content_type="application/json")
        if rel == "/board/font.ttf":
            from loa.signage.fit import font_path

            return route.fulfill(status=200, body=font_path().read_bytes(), content_type="font/ttf")
        name = rel.removeprefix("/board/")
        if rel.startswith("/board/") and name in ASSET_TYPES:
            return route.fulfill(
                status=200, body=(ASSETS / name).read_bytes(), content_type=ASSET_TYPES[name]
            )
        if rel.startswith("/signage/files/"):
            parsed = store.parse_name(rel.removeprefix("/signage/files/"))
            if parsed is not None and store.path_of(*parsed).is_file():
                return route.fulfill(status=200, body=store.path_of(*parsed).read_bytes())
            return route.fulfill(status=404, body=b"")
        if rel.endswith("/commands"):
            return route.fulfill(status=200, body=b"[]", content_type="application/json")
        if rel == "/board/api/events":
            return route.fulfill(status=503, body=b"")
        return route.fulfill(status=200, body=b"{}", content_type="application/json")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            headless=True,
        )
        try:
            context = browser.new_context(
                viewport={
                    "width": viewport[0] if viewport else screen["width"],
                    "height": viewport[1] if viewport else screen["height"],
                },
                service_workers="block",
                locale="vi-VN",
                timezone_id="Asia/Ho_Chi_Minh",
                base_url="http://localhost:9",  # a secure context (WebCrypto); never reached, every request is routed
            )
            context.route("**/*", answer)
            context.add_init_script(
                f"localStorage.setItem('loa.board.creds', {json.dumps(json.dumps(creds))});"
                "localStorage.removeItem('loa.board.manifest');"
            )
            page = context.new_page()
            page.set_default_timeout(RENDER_TIMEOUT_MS)
            yield page
            context.close()
        finally:
            browser.close()


_DRAW = """async () => {
  const s = window.loaBoard.drawScreen();
  return s.toDataURL('image/png');
}"""
_READY = """(id) => {
  const el = id ? document.querySelector(`#stage .zone-main [data-slide-id="${id}"]`) : document.body;
  if (!el) return false;
  return [...el.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0)
    && [...el.querySelectorAll('video')].every((v) => v.readyState >= 2);
}"""
_SEEK = """async (at) => {
  const v = document.querySelector('#stage .zone-main video');
  if (!v) return;
  v.pause();
  const t = v.duration > 0 ? at % v.duration : 0;
  await new Promise((done) => { v.addEventListener('seeked', done, { once: true }); v.currentTime = t; });
}"""


def render_expected(device_id: str, screen: dict[str, Any], items: list[Expected]) -> list[ExpectedRender]:
    """Draw ``items`` with the player (one Chromium for all of them, one page load per slide: a video's moments
    are drawn by seeking its clip, paused) and store their hashes."""
    from PIL import Image

    now = timezone.now()
    made: list[ExpectedRender] = []
    served = [b""]
    groups: dict[str, list[Expected]] = {}
    for item in items:
        groups.setdefault(item.base or item.key, []).append(item)
    with player_page(device_id, screen, served) as page:
        for n, group in enumerate(groups.values(), start=1):
            first = group[0]
            served[0] = _still_manifest(device_id, n, screen, first, now)
            page.goto("/board/")
            slide_id = first.slide["slide_id"] if first.slide else ""
            if slide_id:
                page.wait_for_function(_READY, arg=slide_id)
            else:
                page.wait_for_function("() => window.loaBoard && window.loaBoard.version !== null")
            page.wait_for_timeout(300)  # fitted text settles, fonts are in
            for item in group:
                if item.at_s is not None:
                    page.evaluate(_SEEK, item.at_s)
                url = page.evaluate(_DRAW)
                image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
                made.append(
                    ExpectedRender(
                        key=item.key, width=screen["width"], height=screen["height"], kind=item.kind,
                        phash=dhash(image, item.box), colours=colours(image, item.box), box=item.box, masks=[],
                    )
                )  # fmt: skip
    ExpectedRender.objects.bulk_create(made, ignore_conflicts=True)
    return list(ExpectedRender.objects.filter(key__in=[m.key for m in made]))


# ---- the check -----------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    verdict: str  # match, mismatch, unchecked
    distance: int | None = None
    colour: float | None = None
    matched: str = ""  # the kind of expected render that matched ("black", "idle", a slide kind)
    reason: str = ""
    rendered: int = 0  # expected renders drawn for this check (0 when all were cached)
    render_s: float = 0.0


def _timelines(device_id: str, manifest: dict[str, Any], taken: dt.datetime) -> list[list[dict[str, Any]]]:
    out = [manifest.get("timeline") or []]
    current = (
        BoardManifestRevision.objects.filter(device_id=device_id, version=manifest["version"])
        .order_by("-generated_at")
        .first()
    )
    if current is not None and current.generated_at > taken - GRACE:
        before = (
            BoardManifestRevision.objects.filter(device_id=device_id, version__lt=manifest["version"])
            .select_related("timeline")
            .order_by("-version")
            .first()
        )
        if before is not None:
            out.append(before.timeline.timeline)
    return out


def _window_open(manifest: dict[str, Any], at: dt.datetime) -> bool:
    if manifest.get("closed"):
        return False
    windows = manifest.get("windows") or []
    if not windows:
        return True
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(manifest.get("timezone") or "Asia/Ho_Chi_Minh")).strftime("%H:%M")
    for w in windows:
        start, end = w["start"], w["end"]
        if (start <= local < end) if start <= end else (local >= start or local < end):
            return True
    return False


class RenderNeeded(Exception):
    """Some expected renders are not drawn yet (and the caller may not draw them: the upload request)."""


def judge(shot: BoardScreenshot, image: Any, *, render: bool = True) -> Verdict:
    """Compare one screenshot (a decoded picture) with what the board's current manifest says it shows. Without
    ``render``, raises :class:`RenderNeeded` instead of starting Chromium for renders not drawn yet."""
    row = BoardManifestRow.objects.filter(device_id=shot.device_id).first()
    if row is None:
        return Verdict("unchecked", reason="no_manifest")
    manifest = json.loads(bytes(row.payload))
    emergency = manifest.get("emergency")
    if emergency and not emergency.get("cancelled_at"):
        return Verdict("unchecked", reason="emergency")
    dark = brightness(image) <= BLACK_MAX
    if manifest.get("killed") or not _window_open(manifest, shot.taken_at):
        return Verdict(
            "match" if dark else "mismatch", matched="black" if dark else "", reason="dark_expected"
        )
    screen = manifest["screen"]
    items = expected_of(
        _timelines(shot.device_id, manifest, shot.taken_at), screen["width"], screen["height"], shot.taken_at
    )
    renders = {r.key: r for r in ExpectedRender.objects.filter(key__in=[i.key for i in items])}
    missing = [i for i in items if i.key not in renders]
    if missing and not render:
        raise RenderNeeded
    t0 = time.perf_counter()
    if missing:
        for r in render_expected(shot.device_id, screen, missing):
            renders[r.key] = r
    rendered, render_s = len(missing), round(time.perf_counter() - t0, 2)
    best: Verdict | None = None
    for item in items:
        found = renders.get(item.key)
        if found is None:
            continue
        r = found
        d = bits_apart(dhash(image, r.box, r.masks), r.phash)
        c = colour_apart(colours(image, r.box, r.masks), r.colours)
        limit = VIDEO_MAX_BITS if r.kind == "video" else MAX_BITS
        if best is None or (d, c) < (best.distance or 0, best.colour or 0.0):
            best = Verdict("mismatch", d, round(c, 1))
        if d <= limit and c <= MAX_COLOUR:
            return Verdict("match", d, round(c, 1), r.kind, "", rendered, render_s)
    if best is None:
        return Verdict("unchecked", None, None, "", "no_render", rendered, render_s)
    reason = "no_expected_render_matches"
    return Verdict("mismatch", best.distance, best.colour, "", reason, rendered, render_s)


def check_screenshot(job_id: int | None, screenshot_id: int, *, render: bool = True) -> dict[str, Any]:
    """Judge the screenshot and raise or clear the board's alarm (as the system actor: the board is not a person
    and the comparison is the server's). As a job (``render``), draws the expected renders it lacks."""
    from PIL import Image

    shot = BoardScreenshot.objects.filter(pk=screenshot_id).first()
    if shot is None:  # already dropped (only the latest few are kept): a newer one is checked instead
        return {"verdict": "gone"}
    path = fleet_boards.screenshot_file(shot)
    with Image.open(path) as image:
        image.load()
        verdict = judge(shot, image, render=render)
    fleet_boards.do_screen_verdict(shot, verdict.verdict, verdict.distance, actor=SYSTEM)
    return {
        "verdict": verdict.verdict, "distance": verdict.distance, "colour": verdict.colour,
        "matched": verdict.matched, "reason": verdict.reason, "rendered": verdict.rendered,
        "render_s": verdict.render_s,
    }  # fmt: skip


def check_now_or_later(screenshot_id: int) -> str:
    """After the upload commits: when every expected render is drawn already (the usual case: renders are shared
    by content), compare at once — a few hashes of a 480-px picture, milliseconds; otherwise queue the job that
    draws them with Chromium, so the upload never waits for a browser. ``"now"`` or ``"job"``."""
    from loa.jobs.run import enqueue

    try:
        check_screenshot(None, screenshot_id, render=False)
        return "now"
    except RenderNeeded:
        pass
    except Exception:  # the board's upload is stored; the job tries again and records why if it fails
        log.exception("screen check of screenshot %s failed in the request; queued", screenshot_id)
    enqueue("signage.screen_check", "loa.signage.screencheck.check_screenshot", screenshot_id=screenshot_id)
    return "job"


def on_screenshot_received(sender: Any, device_id: str, screenshot_id: int, **kwargs: Any) -> None:
    """Receiver of ``loa.fleet.signals.screenshot_received``: check once the upload commits."""
    if not getattr(settings, "LOA_BOARD_SCREEN_CHECK", True):
        return
    transaction.on_commit(lambda: check_now_or_later(screenshot_id))
