"""The public app's pages (no sign-in): the commune picker, a commune's feed, a bulletin's page (the QR target of
the boards), its audio and images, the web manifest and the service worker.

Views only authorise through :mod:`loa.citizen.public_access` and read through :mod:`loa.citizen.public_feed`;
the feed page is rendered once per commune, language and audit stamp (:mod:`loa.citizen.public_cache`) and
answered with an ETag, so a phone that has it gets a 304.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from loa.citizen import public_cache
from loa.citizen.public_access import (
    NotPublic,
    access_public_bulletin,
    access_public_commune,
    access_public_image,
    check_public_code,
)
from loa.citizen.public_fastpath import mark_keepable
from loa.citizen.public_feed import bulletin_detail, commune_feed, near_communes, search_communes
from loa.content.attachments import stored_path
from loa.media.files import file_response
from loa.media.services import asset_file_path
from loa.units.models import Level, Unit

PAGE_CACHE = (
    "public, max-age=0, must-revalidate"  # always asked again (emergencies), answered 304 when unchanged
)
FILE_CACHE = "public, max-age=3600"  # not immutable: a cancelled bulletin's audio stops being served


@cache
def alerts_script() -> str:
    """C3's Web Push subscription script, when that part is installed (``static/alerts/subscribe.js``)."""
    return static("alerts/subscribe.js") if finders.find("alerts/subscribe.js") else ""


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    """What every public page needs; ``path`` (the page's own address, for the language link) is the canonical
    one, never the query string of whoever asked first (feed pages are cached and shared)."""
    return {"alerts_script": alerts_script(), "path": request.path, **extra}


def _commune_of(unit: Unit) -> Unit | None:
    """The commune a bulletin comes from (its zone's commune), or None for a province's: a page opened from a shared
    link, before any commune is remembered, points its tabs there."""
    if unit.level == Level.COMMUNE:
        return unit
    if unit.level == Level.ZONE and unit.parent is not None and unit.parent.level == Level.COMMUNE:
        return unit.parent
    return None


def _not_found(request: HttpRequest, exc: NotPublic) -> HttpResponse:
    response = render(
        request, "citizen/public/not_found.html", _context(request, message=exc.message), status=404
    )
    response["Cache-Control"] = "no-cache"
    return response


def _conditional(
    request: HttpRequest, body: bytes, content_type: str, cache_control: str, etag: str = ""
) -> HttpResponse:
    etag = etag or public_cache.etag_of(body)
    asked = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
    if etag in asked or etag.removeprefix("W/") in asked:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The commune picker: type a name (diacritics or not) or use the phone's position. Without JavaScript the
    search is a plain GET form answered here."""
    q = (request.GET.get("q") or "").strip()[:100]
    results = search_communes(q) if q else []
    response = render(request, "citizen/public/home.html", _context(request, q=q, results=results))
    response["Cache-Control"] = "public, max-age=300" if not q else "public, max-age=60"
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


@require_GET
def near(request: HttpRequest) -> HttpResponse:
    """No-JavaScript fallback is impossible (the position comes from the browser); JS calls the API. This page
    answers ``?lat=&lon=`` for links and tests."""
    try:
        lat, lon = float(request.GET["lat"]), float(request.GET["lon"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError
    except (KeyError, ValueError):
        return render(request, "citizen/public/home.html",
                      _context(request, q="", results=[], error=_("Vị trí không hợp lệ.")), status=400)  # fmt: skip
    results = near_communes(lat, lon)
    return render(request, "citizen/public/home.html", _context(request, q="", results=results, near=True))


def feed_data(code: str, lang: str) -> dict[str, Any]:
    """The commune's feed (cached per commune, language and audit stamp); raises NotPublic."""

    def build() -> tuple[dict[str, Any], dt.datetime]:
        commune = access_public_commune(code)
        data = commune_feed(commune)
        return data, dt.datetime.fromisoformat(data["fresh_until"])

    check_public_code(code)
    data: dict[str, Any] = public_cache.cached(f"feed:{code}:{lang}:{public_cache.stamp()}", build)
    return data


def _content_etag(data: dict[str, Any], lang: str, kind: str) -> str:
    """The same in every web process for the same content: the time it was made is left out."""
    content = {k: v for k, v in data.items() if k not in ("generated_at", "generated_text", "fresh_until")}
    return public_cache.weak_etag(kind, lang, json.dumps(content, sort_keys=True, ensure_ascii=False))


def feed_answer(request: HttpRequest, code: str, kind: str) -> tuple[bytes, str]:
    """The feed as sent (``kind`` "html" or "json") and its ETag, made once per commune, language and stamp; the
    answer is marked for the fast path in front of Django (:mod:`loa.citizen.public_fastpath`)."""
    lang = translation.get_language() or settings.LANGUAGE_CODE
    stamp = public_cache.stamp()

    def build() -> tuple[tuple[bytes, str, float], dt.datetime]:
        data = feed_data(code, lang)
        if kind == "json":
            body = json.dumps(data, ensure_ascii=False).encode()
        else:
            context = _context(request, feed=data, commune=data["commune"])
            context["path"] = f"/congdan/xa/{code}/"
            body = render_to_string("citizen/public/feed.html", context, request=None).encode()
        fresh_until = dt.datetime.fromisoformat(data["fresh_until"])
        return (body, _content_etag(data, lang, kind), fresh_until.timestamp()), fresh_until

    check_public_code(code)
    body, etag, until = public_cache.cached(f"feed-{kind}:{code}:{lang}:{stamp}", build)
    mark_keepable(request, stamp, until)
    return body, etag


@require_GET
def feed(request: HttpRequest, code: str) -> HttpResponse:
    try:
        body, etag = feed_answer(request, code, "html")
    except NotPublic as exc:
        return _not_found(request, exc)
    return _conditional(request, body, "text/html; charset=utf-8", PAGE_CACHE, etag)


@require_GET
def bulletin(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    """A published bulletin's own page: what a board's QR code opens."""
    try:
        b = access_public_bulletin(bulletin_id)
    except NotPublic as exc:
        return _not_found(request, exc)
    data = bulletin_detail(b)
    html = render_to_string(
        "citizen/public/bulletin.html",
        _context(
            request, b=data, commune=None, page_commune=_commune_of(b.origin_unit), fresh=timezone.now()
        ),
        request=None,
    )
    return _conditional(request, html.encode(), "text/html; charset=utf-8", PAGE_CACHE)


@require_GET
def bulletin_audio(request: HttpRequest, bulletin_id: int) -> HttpResponseBase:
    """The bulletin's audio: the same stored MP3 the loudspeakers play, while the bulletin is public."""
    try:
        b = access_public_bulletin(bulletin_id)
    except NotPublic as exc:
        return _not_found(request, exc)
    path = asset_file_path(b.audio_asset) if b.audio_asset is not None else None
    if path is None or not path.is_file():
        return _not_found(request, NotPublic("audio_not_found", _("Bản tin này không có âm thanh.")))
    response = file_response(request, path, "audio/mpeg", immutable=False)
    response["Cache-Control"] = FILE_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def bulletin_image(request: HttpRequest, bulletin_id: int, attachment_id: int) -> HttpResponseBase:
    try:
        att = access_public_image(bulletin_id, attachment_id)
    except NotPublic as exc:
        return _not_found(request, exc)
    path = stored_path(att.asset)
    if not path.is_file():
        return _not_found(request, NotPublic("image_not_found", _("Không tìm thấy ảnh này.")))
    response = file_response(request, path, att.asset.mime_type or "application/octet-stream")
    response["Cache-Control"] = FILE_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest (installable: name, start URL, scope, standalone display, 192 and 512 px icons)."""
    data = {
        "name": _("Loa — Thông tin cơ sở"),
        "short_name": "Loa",
        "description": _("Bản tin, lịch phát loa và cảnh báo khẩn cấp của xã, phường nơi bạn sống."),
        "lang": translation.get_language() or "vi",
        "start_url": "/congdan/?nguon=app",
        "scope": "/congdan/",
        "id": "/congdan/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b3261e",
        "icons": [
            {"src": static(f"citizen/icons/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png",
             "purpose": "any"}
            for size in (192, 512)
        ] + [{"src": static("citizen/icons/maskable-512.png"), "sizes": "512x512", "type": "image/png",
              "purpose": "maskable"}],
    }  # fmt: skip
    response = HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


SW_PATH = Path(__file__).parent / "static" / "citizen" / "sw.js"


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /congdan/ so that its scope is the whole app. The static addresses it
    precaches (hashed names in production) are written into it here."""
    shell = [
        static("citizen/app.css"),
        static("citizen/app.js"),
        static("citizen/icons/icon-192.png"),
        "/congdan/",
    ]
    push = static("alerts/push-sw.js") if finders.find("alerts/push-sw.js") else ""
    body = SW_PATH.read_text(encoding="utf-8").replace("__SHELL__", json.dumps(shell))
    body = body.replace("__PUSH__", json.dumps(push))
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/congdan/"
    return response


@require_GET
def language(request: HttpRequest) -> HttpResponse:
    """Switch between Vietnamese and English (a cookie; a link, so that cached pages hold no form token). Without
    a known ``lang`` nothing is set: the address alone changes nothing."""
    lang = request.GET.get("lang", "")
    target = request.GET.get("next") or "/congdan/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ) or not target.startswith("/"):
        target = "/congdan/"
    response = HttpResponseRedirect(target)
    if lang in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, max_age=365 * 86400, samesite="Lax")
    return response
