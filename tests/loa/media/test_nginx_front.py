"""The shipped nginx rules (deploy/nginx/loa.conf) in front of the real web process: what it keeps and for whom.

An emergency's speech is public while the emergency is in force (ADR 0019), the same bytes for everyone: the first
device's request reaches Loa, every other device of the emergency — each with its own credentials — is answered
from nginx's cache. A file that is private (library audio a command sent to some devices) is never kept: each
request reaches Loa and its access rule, so a device the command did not reach still gets nothing."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.services import media_url
from loa.fleet.services import do_provision_device, do_send_command
from loa.media.front import FrontError, NginxFront
from loa.media.models import MediaAsset
from loa.tts.services import do_synthesize
from loa.units.models import Unit
from tests.loa.fleet.brokers import mqtt_dir  # type: ignore[import-not-found]  # noqa: F401  (shared fixture)

pytestmark = pytest.mark.usefixtures("mqtt_dir")


def _basic(device_id: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{device_id}:{password}".encode()).decode()}


@pytest.fixture
def front(live_server: Any) -> Iterator[NginxFront]:
    nginx = NginxFront(int(urlsplit(live_server.url).port or 0))
    try:
        nginx.start()
    except FrontError as exc:  # `make test` installs nginx (scripts/install_system.sh test)
        pytest.fail(str(exc))
    try:
        yield nginx
    finally:
        nginx.stop()


def test_an_emergency_s_speech_reaches_loa_once_for_all_its_devices(
    front: NginxFront, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    from loa.broadcast import emergency as em
    from tests.conftest import verified_client  # type: ignore[import-not-found]
    from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]

    chairman = make_user("chu-tich-a", Role.APPROVER, tree["a"])
    verified_client(chairman)
    devices = [do_provision_device(tree["a"], actor=None, serial=f"NG-{i}") for i in range(3)]
    e = em.do_start_emergency(
        tree["a"], actor=chairman, totp=totp_now(chairman), text="Lũ đang lên, sơ tán ngay."
    )
    url = f"{front.url}/media/files/{e.sha256}.mp3"
    first = httpx.get(url, headers=_basic(devices[0][0].device_id, devices[0][1]))
    assert first.status_code == 200, first.text
    assert hashlib.sha256(first.content).hexdigest() == e.sha256
    assert first.headers["x-cache-status"] == "MISS" and first.headers["cache-control"].startswith("public, ")
    assert first.headers.get("vary") is None, first.headers.get("vary")  # or no two devices share it
    # the other devices, each with its own credentials, and a citizen without any: from the cache
    for device, password in devices[1:]:
        again = httpx.get(url, headers=_basic(device.device_id, password))
        assert (again.status_code, again.headers["x-cache-status"]) == (200, "HIT")
        assert again.content == first.content
    assert httpx.get(url).headers["x-cache-status"] == "HIT"


def test_devices_arriving_together_send_one_request_to_loa(
    front: NginxFront, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    """proxy_cache_lock: thirty devices asking at the same instant, before anything is cached."""
    from loa.broadcast import emergency as em
    from tests.conftest import verified_client  # type: ignore[import-not-found]
    from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]

    chairman = make_user("chu-tich-a", Role.APPROVER, tree["a"])
    verified_client(chairman)
    device, password = do_provision_device(tree["a"], actor=None, serial="NG-LOCK")
    e = em.do_start_emergency(
        tree["a"], actor=chairman, totp=totp_now(chairman), text="Bão số 3 đổ bộ, ở trong nhà."
    )
    url = f"{front.url}/media/files/{e.sha256}.mp3"
    statuses: list[tuple[int, str, str]] = []
    start = threading.Barrier(30)

    def fetch() -> None:
        start.wait()
        r = httpx.get(url, headers=_basic(device.device_id, password), timeout=30)
        statuses.append(
            (r.status_code, r.headers.get("x-cache-status", ""), hashlib.sha256(r.content).hexdigest())
        )

    threads = [threading.Thread(target=fetch) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 30 and {(s, h) for s, _, h in statuses} == {(200, e.sha256)}
    assert [c for _, c, _ in statuses].count("MISS") == 1, statuses


def test_a_private_file_is_never_kept_and_its_rule_holds_behind_nginx(
    front: NginxFront, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    operator = make_user("op.a", Role.COMMUNE_OPERATOR, tree["a"])
    clip = do_synthesize("Thông báo nội bộ, chưa phát hành.", actor=operator, unit=tree["a"])
    asset = MediaAsset.objects.get(pk=clip.media_asset_id)
    target, target_pw = do_provision_device(tree["a"], actor=None, serial="NG-T")
    bystander, bystander_pw = do_provision_device(tree["b"], actor=None, serial="NG-B")
    do_send_command(
        actor=operator,
        action="play",
        params={"item_id": "ng-1", "media_url": media_url(asset.sha256), "sha256": asset.sha256,
                "duration_s": float(asset.duration_s or 1), "priority": 4},
        target_device=target,
    )  # fmt: skip
    url = f"{front.url}/media/files/{asset.sha256}.mp3"
    for _ in range(2):  # fetched twice by the device it was sent to: Loa answers both times
        r = httpx.get(url, headers=_basic(target.device_id, target_pw))
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == asset.sha256
        assert r.headers["cache-control"].startswith("private") and r.headers["x-cache-status"] == "MISS"
        assert {"Authorization", "Cookie"} <= {v.strip() for v in r.headers["vary"].split(",")}
    assert httpx.get(url, headers=_basic(bystander.device_id, bystander_pw)).status_code == 404
    assert httpx.get(url, headers=_basic(target.device_id, "sai")).status_code == 401
    assert httpx.get(url).status_code == 401
    refused = httpx.get(url)
    assert refused.headers["x-cache-status"] == "MISS", "a refusal is not kept either"


def test_the_front_reads_the_shipped_rules_and_says_when_they_are_gone(tmp_path: Any) -> None:
    from loa.media.front import front_config, shipped_media_rules

    cache_path, media = shipped_media_rules()
    assert cache_path.startswith("proxy_cache_path ") and "proxy_cache loa_media;" in media
    conf = front_config(tmp_path, 18080, 18000)
    assert f"proxy_cache_path {tmp_path / 'cache'} " in conf and "/var/cache" not in conf
    assert "proxy_pass http://127.0.0.1:18000;" in conf and "127.0.0.1:8000" not in conf
    with pytest.raises(FrontError, match="location /media/files/"):
        shipped_media_rules("server {\n    location / {\n    }\n}\n")


def test_bench_emergency_refuses_nginx_without_the_web_process() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--download --web"):
        call_command("bench", "emergency", "--devices", "10", "--nginx")
    with pytest.raises(CommandError, match="--download --web"):
        call_command("bench", "emergency", "--devices", "10", "--download", "--nginx")


def test_an_emergency_s_speech_is_in_the_cache_before_its_devices_ask(
    front: NginxFront, tree: dict[str, Unit], make_user: Callable[..., User], settings: Any
) -> None:
    """LOA_MEDIA_WARM_URL: once the command is committed, one request of the server's own goes through nginx
    (loa.media.shared_cache), so the first device is answered from the cache, not held by nginx's lock."""
    import time

    from loa.broadcast import emergency as em
    from tests.conftest import verified_client  # type: ignore[import-not-found]
    from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]

    settings.LOA_MEDIA_WARM_URL = front.url
    chairman = make_user("chu-tich-a", Role.APPROVER, tree["a"])
    verified_client(chairman)
    device, password = do_provision_device(tree["a"], actor=None, serial="NG-WARM")
    e = em.do_start_emergency(
        tree["a"], actor=chairman, totp=totp_now(chairman), text="Nước lên nhanh, sơ tán."
    )
    assert front.directory is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(
        p.is_file() for p in (front.directory / "cache").rglob("*")
    ):
        time.sleep(0.05)
    r = httpx.get(f"{front.url}/media/files/{e.sha256}.mp3", headers=_basic(device.device_id, password))
    assert (r.status_code, r.headers["x-cache-status"]) == (200, "HIT")
    assert hashlib.sha256(r.content).hexdigest() == e.sha256


def test_warming_is_best_effort_and_says_why_it_failed(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    from loa.media.shared_cache import warm_shared_cache

    settings.LOA_MEDIA_WARM_URL = ""
    assert warm_shared_cache("a" * 64) is None, "no shared cache configured: nothing to warm"
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.LOA_MEDIA_WARM_URL = f"http://127.0.0.1:{port}"
    with caplog.at_level("WARNING", logger="loa.media.shared_cache"):
        thread = warm_shared_cache("b" * 64)
        assert thread is not None
        thread.join(15)
    assert any(
        "Không làm nóng được bộ đệm" in r.getMessage() and str(port) in r.getMessage() for r in caplog.records
    )
