"""Subscribing without an account: the public key, a valid subscription per commune, and bad input refused in
Vietnamese (an http or unknown-host endpoint, keys that are not P-256/16 bytes, no commune, not JSON)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client

from loa.alerts import keys
from loa.alerts.models import PushSubscription
from loa.units.models import Unit
from tests.push_service import Browser, PushService, unb64url

URL = "/congdan/canh-bao"


def post(client: Client, path: str, data: Any) -> Any:
    return client.post(f"{URL}/{path}/", json.dumps(data), content_type="application/json")


def test_public_key_is_a_p256_point_and_stays_the_same(db: Any) -> None:
    r = Client().get(f"{URL}/khoa/")
    assert r.status_code == 200
    raw = unb64url(r.json()["public_key"])
    assert len(raw) == 65 and raw[0] == 4
    assert Client().get(f"{URL}/khoa/").json()["public_key"] == r.json()["public_key"]


def test_subscribe_per_commune_then_unsubscribe(tree: dict[str, Unit], push_service: PushService) -> None:
    browser = push_service.browser()
    client = Client()
    r = post(client, "dang-ky", {"commune": "06652", "subscription": browser.subscription})
    assert r.status_code == 201, r.content
    assert r.json()["message"] == "Đã đăng ký nhận cảnh báo khẩn cấp của Phường Hà Tu."
    again = post(client, "dang-ky", {"commune": "06652", "subscription": browser.subscription})
    assert again.status_code == 200 and again.json()["created"] is False
    assert (
        post(client, "dang-ky", {"commune": "06658", "subscription": browser.subscription}).status_code == 201
    )
    row = PushSubscription.objects.get(unit__code="06652")
    assert row.vapid_key_id == keys.current().id and row.endpoint == browser.endpoint
    assert post(client, "trang-thai", {"endpoint": browser.endpoint}).json()["communes"] == ["06652", "06658"]
    r = post(client, "huy", {"endpoint": browser.endpoint, "commune": "06652"})
    assert r.json()["removed"] == 1
    assert list(PushSubscription.objects.values_list("unit__code", flat=True)) == ["06658"]
    assert post(client, "huy", {"endpoint": browser.endpoint}).json()["removed"] == 1
    assert not PushSubscription.objects.exists()


def _sub(browser: Browser, **change: Any) -> dict[str, Any]:
    s = browser.subscription
    keys_ = {**s["keys"], **change.pop("keys", {})}
    return {**s, "keys": keys_, **change}


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"endpoint": "http://127.0.0.1/push/x"}, "endpoint_invalid", "https"),
        ({"endpoint": "https://10.0.0.5/push/x"}, "endpoint_not_push_service", "dịch vụ thông báo đẩy"),
        (
            {"endpoint": "https://user:pw@127.0.0.1/push/x"},
            "endpoint_not_push_service",
            "dịch vụ thông báo đẩy",
        ),
        ({"endpoint": "https://127.0.0.1/" + "a" * 1000}, "endpoint_invalid", "1000 ký tự"),
        ({"endpoint": ""}, "endpoint_required", "Thiếu địa chỉ nhận"),
        ({"keys": {"p256dh": "abc"}}, "p256dh_invalid", "P-256"),
        ({"keys": {"p256dh": "B" + "A" * 86}}, "p256dh_invalid", "P-256"),  # 65 bytes, not on the curve
        ({"keys": {"auth": "AAAA"}}, "auth_invalid", "16 byte"),
        ({"keys": {"auth": None}}, "auth_invalid", "16 byte"),
    ],
)
def test_a_bad_subscription_is_refused_in_vietnamese(
    tree: dict[str, Unit], push_service: PushService, change: dict[str, Any], code: str, words: str
) -> None:
    r = post(
        Client(), "dang-ky", {"commune": "06652", "subscription": _sub(push_service.browser(), **change)}
    )
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert not PushSubscription.objects.exists()


def test_bad_requests_are_refused_in_vietnamese(tree: dict[str, Unit], push_service: PushService) -> None:
    client = Client()
    sub = push_service.browser().subscription
    r = post(client, "dang-ky", {"subscription": sub})
    assert r.status_code == 400 and r.json()["error"]["message"] == "Chọn xã, phường để nhận cảnh báo."
    r = post(client, "dang-ky", {"commune": "22", "subscription": sub})  # a province is not a commune
    assert r.status_code == 404 and r.json()["error"]["message"] == "Không tìm thấy xã, phường với mã này."
    r = post(client, "dang-ky", {"commune": "06652", "subscription": "x"})
    assert r.status_code == 400 and "đối tượng JSON của trình duyệt" in r.json()["error"]["message"]
    r = client.post(f"{URL}/dang-ky/", {"commune": "06652"})  # a form, not JSON
    assert r.status_code == 415 and "JSON" in r.json()["error"]["message"]
    r = client.post(f"{URL}/dang-ky/", "{nope", content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["message"] == "Dữ liệu gửi lên không phải JSON hợp lệ."
    r = client.post(f"{URL}/dang-ky/", json.dumps({"x": "y" * 9000}), content_type="application/json")
    assert r.status_code == 413
    assert client.get(f"{URL}/dang-ky/").status_code == 405
    assert not PushSubscription.objects.exists()


def test_one_browser_follows_at_most_ten_communes(
    tree: dict[str, Unit], push_service: PushService, settings: Any
) -> None:
    settings.LOA_PUSH_MAX_PER_ENDPOINT = 1
    browser = push_service.browser()
    assert (
        post(Client(), "dang-ky", {"commune": "06652", "subscription": browser.subscription}).status_code
        == 201
    )
    r = post(Client(), "dang-ky", {"commune": "06658", "subscription": browser.subscription})
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_many_communes"


def test_rotating_the_vapid_key_is_audited_and_the_endpoint_gives_the_new_key(db: Any) -> None:
    from django.core.management import call_command

    from loa.audit.models import AuditEntry

    before = Client().get(f"{URL}/khoa/").json()["public_key"]
    call_command("alerts", "rotate-vapid", stdout=io.StringIO())
    after = Client().get(f"{URL}/khoa/").json()["public_key"]
    assert after != before and after == keys.current().public_key
    entry = AuditEntry.objects.get(action="alerts.vapid_rotated")
    assert entry.data["new"] == keys.current().id


def test_a_flood_of_subscriptions_from_one_address_is_refused(
    tree: dict[str, Unit], push_service: PushService, settings: Any
) -> None:
    settings.LOA_PUSH_SUBSCRIBE_PER_HOUR = 3
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert (
            post(
                client, "dang-ky", {"commune": "06652", "subscription": push_service.browser().subscription}
            ).status_code
            == 201
        )
    known = PushSubscription.objects.first()
    assert known is not None
    r = post(client, "dang-ky", {"commune": "06652", "subscription": push_service.browser().subscription})
    assert r.status_code == 429 and "quá nhiều đăng ký" in r.json()["error"]["message"]
    # a browser already subscribed may refresh its keys; another address is not held back
    again = {"endpoint": known.endpoint, "keys": {"p256dh": known.p256dh, "auth": known.auth}}
    assert post(client, "dang-ky", {"commune": "06652", "subscription": again}).status_code == 200
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert (
        post(
            other, "dang-ky", {"commune": "06652", "subscription": push_service.browser().subscription}
        ).status_code
        == 201
    )
    assert PushSubscription.objects.count() == 4
    assert "203.0.113.7" not in repr(list(PushSubscription.objects.values()))
