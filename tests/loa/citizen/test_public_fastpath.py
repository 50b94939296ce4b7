"""The feed answered in front of Django (loa.citizen.public_fastpath): replayed byte for byte (security headers
included) while the audit stamp holds, a 304 for a matching ETag, and made again at once after an audited change
— a published bulletin's cancel — in the same process; nothing else is replayed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from loa.asgi import application, django_application
from loa.citizen import public_cache
from loa.citizen.public_fastpath import PublicFeedFastPath
from loa.units.models import Unit
from tests.loa.fleet.brokers import mqtt_dir  # type: ignore[import-not-found]  # noqa: F401  (shared fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _stamp_for_a_second(settings: Any) -> Iterator[None]:
    settings.LOA_PUBLIC_STAMP_TTL_S = (
        1.0  # as in production: the fast path needs a stamp read within a second
    )
    public_cache.clear()
    yield
    public_cache.clear()


class Counting:
    """Django behind a counter: how many requests reached it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await django_application(scope, receive, send)


def _get(
    app: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None, query: bytes = b""
) -> dict[str, Any]:
    return asyncio.run(_aget(app, path, headers, query))


async def _aget(
    app: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None, query: bytes = b""
) -> dict[str, Any]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"host", b"localhost"), *(headers or [])], "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 80)}  # fmt: skip
    out: dict[str, Any] = {"body": b""}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the answer is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {bytes(k).lower(): bytes(v) for k, v in message["headers"]}
        else:
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out


def test_the_feed_is_replayed_until_something_audited_happens(tree: dict[str, Unit], make_user: Any) -> None:
    from loa.content.models import Bulletin

    assert isinstance(application, PublicFeedFastPath)  # what uvicorn serves
    user = make_user("bien-tap", None)
    b = Bulletin.objects.create(title="Thông báo cắt điện ngày mai", origin_unit=tree["a"], state="published",
                                produced_at="2026-01-01T00:00:00+07:00", published_at="2026-01-01T00:00:00+07:00",
                                created_by=user, updated_by=user)  # fmt: skip
    b.receivers.set([tree["a"]])
    django = Counting()
    app = PublicFeedFastPath(django)
    for path in ("/congdan/xa/06652/", "/api/v1/public/communes/06652/feed"):
        first = _get(app, path)
        second = _get(app, path)
        assert first["status"] == second["status"] == 200
        assert "Thông báo cắt điện ngày mai" in first["body"].decode()
        assert second["body"] == first["body"] and second["headers"] == first["headers"]
        assert b"content-security-policy" in second["headers"] and b"loa" not in b"".join(second["headers"])
        etag = first["headers"][b"etag"]
        assert _get(app, path, [(b"if-none-match", etag)])["status"] == 304
    assert django.calls == 2  # one per address: the rest came from memory
    assert (
        _get(app, "/congdan/xa/06652/", query=b"x=1")["status"] == 200 and django.calls == 3
    )  # not replayed
    english = _get(app, "/congdan/xa/06652/", [(b"accept-language", b"en")])
    assert b'lang="en"' in english["body"] and django.calls == 4  # another language is another answer

    # an audited change (the cancel) in this process: the next request goes to Django, which no longer lists it
    from loa.content.workflow import do_transition

    approver = make_user("duyet", "approver", tree["a"])
    do_transition(b, "cancel", actor=approver)
    after = _get(app, "/congdan/xa/06652/")
    assert django.calls == 5 and "Thông báo cắt điện ngày mai" not in after["body"].decode()


@pytest.mark.usefixtures("mqtt_dir")
def test_an_emergency_s_audio_reaches_every_device_from_memory(tree: dict[str, Unit], make_user: Any) -> None:
    """Every loudspeaker of the area fetches the emergency's audio in the same second: one request goes through
    Django, the others wait for its answer and get it from memory, whatever credentials they carry; a byte range
    and a file that is not public always go to Django; a cancel (audited) ends the replay at once."""
    import base64
    import hashlib
    import time

    from loa.broadcast import emergency as em
    from loa.broadcast.models import Emergency
    from loa.fleet.services import do_provision_device
    from tests.conftest import verified_client  # type: ignore[import-not-found]
    from tests.loa.broadcast.conftest import totp_next, totp_now  # type: ignore[import-not-found]

    chairman = make_user("chu-tich-a", "approver", tree["a"])
    verified_client(chairman)
    device, password = do_provision_device(tree["a"], actor=None, serial="FP-1")
    e = em.do_start_emergency(
        tree["a"], actor=chairman, totp=totp_now(chairman), text="Lũ đang lên, sơ tán ngay."
    )
    path = f"/media/files/{e.sha256}.mp3"
    django = Counting()
    app = PublicFeedFastPath(django)
    basic = [(b"authorization", b"Basic " + base64.b64encode(f"{device.device_id}:{password}".encode()))]
    forged = [(b"authorization", b"Basic " + base64.b64encode(b"khong-phai-thiet-bi:sai"))]

    async def burst() -> list[dict[str, Any]]:
        return await asyncio.gather(*(_aget(app, path, [basic, forged, []][k % 3]) for k in range(60)))

    answers = asyncio.run(burst())
    assert django.calls == 1  # the others waited for the first answer
    assert {a["status"] for a in answers} == {200}
    assert {hashlib.sha256(a["body"]).hexdigest() for a in answers} == {e.sha256}
    assert all(a["headers"][b"cache-control"].startswith(b"public, max-age=") for a in answers)
    # the first answer is made on a stamp about to age out: those who waited for it still get it
    app.kept.clear()
    public_cache._stamp = (time.monotonic() - 0.99, public_cache._read_stamp())
    assert {a["status"] for a in asyncio.run(burst())} == {200} and django.calls == 2

    # replayed past the stamp's age limit: the stamp is read again in the background, no request waits for Django
    for _ in range(3):
        time.sleep(0.55)  # LOA_PUBLIC_STAMP_TTL_S = 1: past half of it
        assert _get(app, path, forged)["status"] == 200
    assert django.calls == 2
    part = _get(app, path, [(b"range", b"bytes=0-99")])
    assert part["status"] == 206 and len(part["body"]) == 100 and django.calls == 3

    # a device's private file (speech made for it, not public): every request asks Django
    from loa.broadcast.services import media_url
    from loa.fleet.services import do_send_command
    from loa.media.models import MediaAsset
    from loa.tts.services import do_synthesize

    clip = do_synthesize("Thông báo nội bộ.", actor=chairman, unit=tree["a"])
    private = MediaAsset.objects.get(pk=clip.media_asset_id)
    do_send_command(actor=chairman, action="play", target_device=device,
                    params={"item_id": "fp-1", "media_url": media_url(private.sha256),
                            "sha256": private.sha256, "duration_s": float(private.duration_s or 1), "priority": 4})  # fmt: skip
    calls = django.calls
    for _ in range(3):
        got = _get(app, f"/media/files/{private.sha256}.mp3", basic)
        assert got["status"] == 200 and got["headers"][b"cache-control"].startswith(b"private")
    assert django.calls == calls + 3
    assert _get(app, f"/media/files/{private.sha256}.mp3")["status"] == 401 and django.calls == calls + 4

    # cancelled: no longer public, and not replayed a moment longer
    em.do_cancel_emergency(Emergency.objects.get(pk=e.pk), actor=chairman, totp=totp_next(chairman))
    assert _get(app, path)["status"] == 401
