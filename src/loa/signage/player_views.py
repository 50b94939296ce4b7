"""The reference board player, served under ``/board/``: the page and its scripts (run in kiosk Chromium), and what
the board fetches with its own credentials (HTTP Basic): its signed manifest, its push stream (server-sent events,
ADR 0014) and its proof-of-display upload. Screenshots, heartbeats and commands go to the fleet's board endpoints.

No endpoint here answers with ``WWW-Authenticate: Basic``: a kiosk must never pop up a password dialog.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from loa.fleet import keys
from loa.signage import player

ASSETS = Path(__file__).parent / "player_assets"
ASSET_TYPES = {
    "player.js": "text/javascript; charset=utf-8",
    "canonical.js": "text/javascript; charset=utf-8",
    "sw.js": "text/javascript; charset=utf-8",
    "player.css": "text/css; charset=utf-8",
}
# the push stream: how often it says it is alive, and how long it lives before the player reconnects
KEEPALIVE_S = 15.0
MAX_STREAM_S = 30 * 60.0  # the player reconnects; a stream never lives for ever behind a proxy


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": []}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _unauthorised() -> JsonResponse:
    return _error(
        401,
        "board_credentials_invalid",
        "Bảng tin chưa đăng ký hoặc thông tin đăng nhập của bảng tin không đúng.",
    )


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    """The player's shell: nothing secret in it, the board's identity lives in the browser (localStorage)."""
    response = render(request, "signage/player/index.html", {})
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def asset(request: HttpRequest, name: str) -> HttpResponse:
    if name == "font.ttf":  # the font the server's auto-fit measured with (loa.signage.fit), served locally
        from loa.signage.fit import font_path

        response = HttpResponse(font_path().read_bytes(), content_type="font/ttf")
        response["Cache-Control"] = "no-cache"
        return response
    content_type = ASSET_TYPES.get(name)
    if content_type is None:
        return _error(404, "not_found", "Không có tệp này.")
    response = HttpResponse((ASSETS / name).read_bytes(), content_type=content_type)
    # revalidated on every load while online; the service worker keeps a copy for when the server is down
    response["Cache-Control"] = "no-cache"
    if name == "sw.js":
        response["Service-Worker-Allowed"] = "/board/"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The board's signed manifest, byte for byte as the compiler stored (and signed) it."""
    device = player.access_board(request)
    if device is None:
        return _unauthorised()
    payload = player.manifest_payload(device)
    if payload is None:
        return _error(404, "manifest_missing", "Chưa có lịch trình chiếu cho bảng tin này.")
    response = HttpResponse(payload, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def identity(request: HttpRequest) -> JsonResponse:
    """What the player keeps beside its credentials: its id, its units, the server's public key (the same as at
    enrolment; read again so a player enrolled by hand can check it has the right one)."""
    device = player.access_board(request)
    if device is None:
        return _unauthorised()
    codes = [c for c in device.unit.path.split("/") if c]
    return JsonResponse(
        {"device_id": device.device_id, "unit_codes": codes, "server_public_key": keys.public_key()}
    )


@csrf_exempt
@require_POST
def proof(request: HttpRequest) -> JsonResponse:
    """Proof of display: a batch of shown slides; answers with the event ids now stored (new or already there)."""
    device = player.access_board(request)
    if device is None:
        return _unauthorised()
    try:
        batch = player.DisplayBatch.model_validate_json(request.body)
    except ValidationError as exc:
        return _error(
            422, "validation_error", f"Lô bằng chứng hiển thị không hợp lệ: {exc.errors()[0]['msg']}."
        )
    if batch.device_id != device.device_id:
        return _error(403, "wrong_device", "Lô bằng chứng hiển thị của bảng tin khác.")
    stored = player.ingest_proof(device, batch)
    return JsonResponse({"stored": stored})


async def events(request: HttpRequest) -> HttpResponseBase:
    """The push stream (``text/event-stream``): ``hello`` at once (``{"manifest": version, "commands": n}``) and
    the area's ``emergency`` (the signed BoardEmergency, or ``null``), then ``manifest`` (``{"version": n}``) when a
    new manifest is stored, ``emergency`` when the area's emergency starts or is cancelled, ``commands``
    (``{"pending": n}``) when commands wait. The player fetches what changed over HTTPS; the stream carries no content
    but the signed emergency. One watcher per process feeds every stream (:mod:`loa.signage.player_push`)."""
    from loa.signage import player_push

    device = await sync_to_async(player.access_board)(request)
    if device is None:
        return _unauthorised()
    unit_path = await sync_to_async(lambda: device.unit.path)()
    hub = player_push.hub()
    queue, first = await hub.subscribe(device.device_id, unit_path)

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            yield b"retry: 1000\n\n"
            for message in first:
                yield message
            while loop.time() - started < MAX_STREAM_S:
                try:
                    yield await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield b": alive\n\n"
        finally:
            hub.unsubscribe(device.device_id, queue)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
