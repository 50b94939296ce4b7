"""An emergency pushed to the browsers subscribed in its area, through the loopback push service: the payload
decrypts with each subscriber's own private key and carries the alert text; TTL, Urgency and Topic are set; VAPID
verifies; 429/5xx are retried; 404/410 remove the subscription; the counts reach the API and the audit log.
And end to end: an emergency started from the API reaches the push service within 5 s."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.alerts import keys
from loa.alerts.models import EmergencyPush, PushSubscription
from loa.alerts.push import prepare_cancel_push, prepare_emergency_push
from loa.alerts.subscriptions import check_subscription, do_subscribe
from loa.audit.models import AuditEntry
from loa.broadcast.models import Emergency
from loa.fleet.models import Device
from loa.units.models import Unit
from loa_protocol.topics import new_device_id
from tests.loa.broadcast.conftest import totp_now
from tests.push_service import Browser, PushService

TEXT = "Bão số 3 đổ bộ lúc 14 giờ: bà con ở trong nhà, tránh xa bờ biển."


def subscribe(browser: Browser, unit: Unit) -> PushSubscription:
    return do_subscribe(check_subscription(browser.subscription), unit)[0]


def emergency(unit: Unit, text: str = TEXT) -> Emergency:
    return Emergency.objects.create(
        unit=unit, title="Bão số 3", text=text, item_id="em-test", sha256="0" * 64, media_url="x",
        duration_s=5.0, requested_at=timezone.now(),
    )  # fmt: skip


def start(e: Emergency, django_capture_on_commit_callbacks: Any) -> EmergencyPush:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        prepare_emergency_push(e)
    return EmergencyPush.objects.get(emergency=e)


def test_every_subscription_of_the_area_gets_the_alert_encrypted_for_it(
    tree: dict[str, Unit], push_service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    in_a = [push_service.browser() for _ in range(3)]
    in_zone_commune = push_service.browser()  # subscribed to A: an emergency of A's zone reaches it too
    in_b = push_service.browser()
    for b in in_a:
        subscribe(b, tree["a"])
    subscribe(in_zone_commune, tree["a"])
    subscribe(in_b, tree["b"])
    push = start(emergency(tree["a"]), django_capture_on_commit_callbacks)

    assert (push.state, push.subscriptions, push.delivered, push.failed, push.removed) == ("done", 4, 4, 0, 0)
    assert not push_service.to(in_b.token), "a subscription of another commune got the alert"
    assert not push_service.rejected, push_service.rejected
    for b in [*in_a, in_zone_commune]:
        (m,) = push_service.to(b.token)
        data = b.decrypt(m.body)
        assert data["body"] == TEXT and data["type"] == "emergency"
        assert data["title"] == "Cảnh báo khẩn cấp: Phường Hà Tu"
        assert data["tag"] == f"loa-em-{push.emergency_id}" and data["url"] == "/congdan/xa/06652/"
        assert m.headers["TTL"] == "3600" and m.headers["Urgency"] == "high"
        assert m.headers["Topic"] == data["tag"] and m.headers["Content-Encoding"] == "aes128gcm"
        assert m.claims["aud"] == push_service.origin and m.claims["k"] == keys.current().public_key
    with pytest.raises(Exception):  # noqa: B017  (AES-GCM: another subscriber's keys cannot open it)
        in_b.decrypt(push_service.to(in_a[0].token)[0].body)
    entry = AuditEntry.objects.get(action="alerts.pushed")
    assert entry.data["delivered"] == 4 and "đã chuyển 4/4" in entry.message


def test_a_province_emergency_reaches_every_commune_and_a_zone_one_its_commune(
    tree: dict[str, Unit], push_service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    a, b, hue = push_service.browser(), push_service.browser(), push_service.browser()
    subscribe(a, tree["a"])
    subscribe(b, tree["b"])
    subscribe(hue, tree["other_commune"])
    assert start(emergency(tree["province"]), django_capture_on_commit_callbacks).delivered == 2
    assert start(emergency(tree["zone_b"]), django_capture_on_commit_callbacks).delivered == 1
    assert len(push_service.to(a.token)) == 1 and len(push_service.to(b.token)) == 2
    assert not push_service.to(hue.token)


def test_retries_and_removal_of_gone_subscriptions(
    tree: dict[str, Unit], push_service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    ok, busy, flaky, gone, expired, broken = (push_service.browser() for _ in range(6))
    for b in (ok, busy, flaky, gone, expired, broken):
        subscribe(b, tree["a"])
    push_service.script(busy.token, [429, 201])
    push_service.script(flaky.token, [503, 500, 201])
    push_service.script(gone.token, [410])
    push_service.script(expired.token, [404])
    push_service.script(broken.token, [500, 500, 500, 500, 500])  # 1 + LOA_PUSH_RETRIES attempts, all fail
    push = start(emergency(tree["a"]), django_capture_on_commit_callbacks)

    assert (push.subscriptions, push.delivered, push.failed, push.removed) == (6, 3, 1, 2)
    assert push.retried == 1 + 2 + 3
    assert [m.status for m in push_service.to(flaky.token)] == [503, 500, 201]
    assert len(push_service.to(broken.token)) == 4
    left = set(PushSubscription.objects.values_list("endpoint", flat=True))
    assert left == {ok.endpoint, busy.endpoint, flaky.endpoint, broken.endpoint}
    assert PushSubscription.objects.get(endpoint=broken.endpoint).failures == 1
    assert PushSubscription.objects.get(endpoint=ok.endpoint).last_success_at is not None
    # a retry is a new encryption: each attempt decrypts on its own
    assert all(flaky.decrypt(m.body)["body"] == TEXT for m in push_service.to(flaky.token))


def test_a_long_text_is_cut_to_what_a_push_service_accepts(
    tree: dict[str, Unit], push_service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    b = push_service.browser()
    subscribe(b, tree["a"])
    long_text = "Ngập lụt diện rộng, đường liên xã bị chia cắt. " * 200
    assert start(emergency(tree["a"], long_text), django_capture_on_commit_callbacks).delivered == 1
    (m,) = push_service.to(b.token)
    assert len(m.body) <= 4096
    data = b.decrypt(m.body)
    assert data["body"].endswith("…") and long_text.startswith(data["body"][:-1].rstrip())


def test_the_cancel_replaces_the_alert_by_topic(
    tree: dict[str, Unit], push_service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    b = push_service.browser()
    subscribe(b, tree["a"])
    e = emergency(tree["a"])
    start(e, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        prepare_cancel_push(e)
    alert, cancel = push_service.to(b.token)
    assert alert.headers["Topic"] == cancel.headers["Topic"]
    data = b.decrypt(cancel.body)
    assert (
        data["type"] == "emergency_cancelled" and "Bão số 3" in data["body"] and "đã được hủy" in data["body"]
    )
    assert EmergencyPush.objects.get(emergency=e).cancel_delivered == 1
    assert AuditEntry.objects.filter(action="alerts.cancel_pushed").count() == 1


def test_a_rotated_key_signs_new_subscriptions_and_old_ones_keep_theirs(
    tree: dict[str, Unit], push_service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    old_browser = push_service.browser()
    subscribe(old_browser, tree["a"])
    old, new = keys.rotate()
    assert old.id != new.id and keys.current().id == new.id
    new_browser = push_service.browser()
    subscribe(new_browser, tree["a"])
    assert start(emergency(tree["a"]), django_capture_on_commit_callbacks).delivered == 2
    assert push_service.to(old_browser.token)[0].claims["k"] == old.public_key
    assert push_service.to(new_browser.token)[0].claims["k"] == new.public_key


def test_an_emergency_from_the_api_reaches_the_push_service_within_5_s(
    tree: dict[str, Unit],
    transactional_db: None,
    push_service: PushService,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    Device.objects.create(device_id=new_device_id(), unit=tree["a"], serial="PUSH-1")
    browser = push_service.browser()
    r = Client().post(
        "/congdan/canh-bao/dang-ky/", json.dumps({"commune": "06652", "subscription": browser.subscription}),
        content_type="application/json",
    )  # fmt: skip
    assert r.status_code == 201
    chairman = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    client = client_for(chairman)
    asked = time.time()
    r = client.post(
        "/api/v1/broadcast/emergencies",
        json.dumps({"unit": "06652", "text": "Sạt lở đất ở thôn Đồng Đăng, không đi qua đèo.",
                    "totp": totp_now(chairman)}),
        content_type="application/json",
    )  # fmt: skip
    assert r.status_code == 201, r.content
    (m,) = push_service.to(browser.token)
    assert m.at - asked <= 5.0, f"the push arrived {m.at - asked:.2f} s after the API call"
    assert browser.decrypt(m.body)["body"] == "Sạt lở đất ở thôn Đồng Đăng, không đi qua đèo."
    e = client.get(f"/api/v1/broadcast/emergencies/{r.json()['id']}").json()
    assert e["web_push"] == {"state": "done", "subscriptions": 1, "delivered": 1, "failed": 0, "removed": 0,
                             "cancel_delivered": 0}  # fmt: skip
    page = client.get(f"/broadcast/emergency/{e['id']}/")
    assert 'data-k="push_delivered">1<' in page.content.decode()


def test_an_alert_whose_job_was_lost_is_queued_by_the_periodic_job(
    tree: dict[str, Unit], push_service: PushService
) -> None:
    from loa.alerts.push import requeue_stale

    b = push_service.browser()
    subscribe(b, tree["a"])
    e = emergency(tree["a"])
    # the emergency committed, and the process stopped before its on-commit hook queued the push
    push = EmergencyPush.objects.create(emergency=e, unit=e.unit)
    assert requeue_stale() == {"queued": 0}  # too recent: its hook may still be running
    later = timezone.now() + dt.timedelta(seconds=90)
    assert requeue_stale(later) == {"queued": 1}
    push.refresh_from_db()
    assert push.job is not None and (push.state, push.delivered) == ("done", 1)
    assert b.decrypt(push_service.to(b.token)[0].body)["body"] == TEXT
    assert requeue_stale(later) == {"queued": 0}


def test_an_area_without_subscriptions_queues_nothing(
    tree: dict[str, Unit], push_service: PushService, django_capture_on_commit_callbacks: Any
) -> None:
    from loa.jobs.models import Job

    subscribe(push_service.browser(), tree["b"])
    push = start(emergency(tree["a"]), django_capture_on_commit_callbacks)
    assert (push.state, push.subscriptions, push.delivered, push.job) == ("done", 0, 0, None)
    assert not Job.objects.filter(kind="alerts.push").exists() and push_service.count == 0
    assert not AuditEntry.objects.filter(action="alerts.pushed").exists()
