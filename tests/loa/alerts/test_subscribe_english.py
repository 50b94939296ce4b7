"""The alert subscription endpoints answer in the reader's language: the Vietnamese messages are checked in
test_subscribe.py; a phone whose app is in English gets them in English, from the catalogue."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from loa.units.models import Unit
from tests.push_service import PushService


def post(client: Client, path: str, data: Any) -> Any:
    return client.post(f"/congdan/canh-bao/{path}/", json.dumps(data), content_type="application/json")


def test_answers_and_refusals_in_english(tree: dict[str, Unit], push_service: PushService) -> None:
    en = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser = push_service.browser()
    ok = post(en, "dang-ky", {"commune": "06652", "subscription": browser.subscription, "lang": "en"})
    assert (
        ok.status_code == 201
        and ok.json()["message"] == "Subscribed to the emergency alerts of Phường Hà Tu."
    )
    refusals = [
        ({"commune": "06652", "subscription": {**browser.subscription, "endpoint": "http://127.0.0.1/x"}},
         400, "The endpoint must be a valid https address of at most 1000 characters."),
        ({"commune": "06652", "subscription": {**browser.subscription, "endpoint": "https://evil.example/x"}},
         400, "The endpoint does not belong to any browser push service this system knows."),
        ({"commune": "06652", "subscription": {"endpoint": browser.endpoint, "keys": {"p256dh": "x", "auth": "y"}}},
         400, "The p256dh key is not valid (a P-256 public key in base64url is needed)."),
        ({"subscription": browser.subscription}, 400, "Choose a commune or ward to get alerts for."),
        ({"commune": "99999", "subscription": browser.subscription}, 404, "No commune has this code."),
    ]  # fmt: skip
    for body, status, message in refusals:
        r = post(en, "dang-ky", body)
        assert r.status_code == status and r.json()["error"]["message"].startswith(message), r.json()
    not_json = en.post("/congdan/canh-bao/dang-ky/", {"commune": "06652"})
    assert not_json.status_code == 415
    assert (
        not_json.json()["error"]["message"] == "The request must send JSON (Content-Type: application/json)."
    )
    off = post(en, "huy", {"endpoint": browser.endpoint})
    assert off.json() == {"removed": 1, "message": "Alerts are turned off."}
    again = post(en, "huy", {"endpoint": browser.endpoint}).json()
    assert again["message"] == "This browser had not subscribed to alerts."
