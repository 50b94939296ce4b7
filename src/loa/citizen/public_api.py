"""The public JSON API of the citizens' app (mounted at ``/api/v1/public``): no sign-in, no personal data, no
drafts — only what the public pages show, from the same functions (:mod:`loa.citizen.public_feed`) and the same
guards (:mod:`loa.citizen.public_access`). Answers carry an ETag and ``Cache-Control: public``: a phone or a cache
in front asks again with ``If-None-Match`` and gets a 304 while nothing changed.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from loa.api.errors import ErrorOut
from loa.citizen import public_cache
from loa.citizen.public_access import access_public_bulletin
from loa.citizen.public_feed import bulletin_detail, near_communes, search_communes
from loa.citizen.public_views import feed_answer

router = Router(auth=None)

FEED_CACHE = "public, max-age=10, stale-while-revalidate=30"  # emergencies show within seconds
LIST_CACHE = "public, max-age=300"


class CommuneOut(Schema):
    code: str
    name: str
    province: str
    distance_km: float | None = Field(None, description="khoảng cách tới vị trí đã gửi (chỉ khi tìm gần tôi)")


class CommuneList(Schema):
    items: list[CommuneOut]


class ImageOut(Schema):
    url: str
    title: str


class PublicBulletinOut(Schema):
    id: int
    uid: str
    title: str
    summary: str
    body: str
    field: int
    field_label: str
    content_type: int
    content_type_label: str
    priority: int = Field(..., description="1 khẩn cấp, 2 ưu tiên, 3 thông thường")
    emergency: bool
    language: str
    news_source: str
    origin: str = Field(..., description="tên đơn vị phát hành")
    published_at: str | None
    published_text: str
    valid_until: str | None
    valid_until_text: str
    duration_s: int | None
    audio_url: str = Field(..., description="âm thanh của bản tin (cùng tệp loa phát), rỗng nếu không có")
    images: list[ImageOut]
    url: str = Field(..., description="trang công khai của bản tin (đích của mã QR trên bảng tin)")


class PlayOut(Schema):
    start: str = Field(..., description="giờ địa phương HH:MM")
    end: str
    title: str
    done: bool


class PublicEmergencyOut(Schema):
    kind: str = Field(..., description="broadcast (phát khẩn cấp trên loa) hoặc bulletin (bản tin khẩn cấp)")
    title: str
    text: str
    area: str
    since: str | None
    since_text: str
    until: str | None
    url: str


class CommuneRef(Schema):
    code: str
    name: str
    province: str
    province_code: str


class FeedOut(Schema):
    commune: CommuneRef
    generated_at: str
    generated_text: str
    emergencies: list[PublicEmergencyOut]
    bulletins: list[PublicBulletinOut]
    today: list[PlayOut] = Field(..., description="hôm nay trên loa của xã (chỉ nội dung đã duyệt, chỉ tên)")
    fresh_until: str


def _json(
    request: HttpRequest, data: Any, cache_control: str, body: bytes = b"", etag: str = ""
) -> HttpResponse:
    body = body or json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder).encode()
    etag = etag or public_cache.etag_of(body)
    asked = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
    if etag in asked or etag.removeprefix("W/") in asked:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Vary"] = "Accept-Language"
    return response


@router.get(
    "/communes",
    response={200: CommuneList, 400: ErrorOut, 422: ErrorOut},
    summary="Tìm xã, phường (có dấu hoặc không dấu)",
)
def communes(request: HttpRequest, q: str = Query("", max_length=100)) -> Any:
    return _json(request, {"items": search_communes(q)}, LIST_CACHE)


@router.get(
    "/communes/near",
    response={200: CommuneList, 400: ErrorOut, 422: ErrorOut},
    summary="Xã, phường gần một vị trí",
)
def communes_near(
    request: HttpRequest, lat: float = Query(..., ge=-90, le=90), lon: float = Query(..., ge=-180, le=180)
) -> Any:
    return _json(request, {"items": near_communes(lat, lon)}, "private, max-age=60")


@router.get(
    "/communes/{code}/feed",
    response={200: FeedOut, 400: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Bản tin, lịch phát hôm nay và cảnh báo khẩn cấp của một xã, phường",
)
def commune_feed(request: HttpRequest, code: str) -> Any:
    body, etag = feed_answer(request, code, "json")
    return _json(request, None, FEED_CACHE, body, etag)


@router.get(
    "/bulletins/{bulletin_id}",
    response={200: PublicBulletinOut, 400: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Một bản tin đã phát hành",
)
def bulletin(request: HttpRequest, bulletin_id: int) -> Any:
    return _json(request, bulletin_detail(access_public_bulletin(bulletin_id)), FEED_CACHE)
