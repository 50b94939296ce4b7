"""An LED controller's package (:mod:`loa.signage.led`), fetched with the board's own credentials (HTTP Basic):
``GET /board/api/led/playlist.json``, ``/board/api/led/playlist.mp4``, ``/board/api/led/slide-NN.png``."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_GET

from loa.signage import led, player
from loa.signage.player_views import _error, _unauthorised

TYPES = {".json": "application/json", ".mp4": "video/mp4", ".png": "image/png"}


@require_GET
def led_file(request: HttpRequest, name: str) -> HttpResponseBase:
    device = player.access_board(request)
    if device is None:
        return _unauthorised()
    path = led.package_file(device.device_id, name)
    if path is None:
        return _error(
            404,
            "led_package_missing",
            "Chưa có tệp phát cho bộ điều khiển LED của bảng tin này (loa signage render-led).",
        )
    response = FileResponse(path.open("rb"), content_type=TYPES[path.suffix])
    response["Cache-Control"] = "no-cache"
    return response
