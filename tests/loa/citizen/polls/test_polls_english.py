"""A poll's refusals to a citizen are in the reader's language: English from the catalogue when they chose it (the
Vietnamese ones are checked in test_polls.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from loa.citizen.polls.models import Ballot
from loa.units.models import Unit
from tests.loa.citizen.polls.test_polls import ballot, make_poll, public  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db


def test_ballot_refusals_in_english(tree: dict[str, Unit], caplog: Any) -> None:
    caplog.set_level("WARNING", logger="loa.citizen.codes")
    poll = make_poll(tree["a"])
    qs = list(poll.questions.all())
    en = Client(HTTP_ACCEPT_LANGUAGE="en")
    en.get(public(poll))
    for change, message in [
        ({f"q{qs[0].pk}": "999999"}, "Question 1 (“Giờ nào hợp lý?”): that choice is not in the question."),
        ({f"q{qs[2].pk}": "9"}, "Question 3 (“Nghe có rõ không?”): choose a point from 1 to 5."),
        (
            {f"q{qs[3].pk}": "x" * 2001},
            "Question 4 (“Góp ý khác”): the answer is longer than 2000 characters.",
        ),
        ({f"q{qs[0].pk}": ""}, "Question 1 (“Giờ nào hợp lý?”): an answer is needed."),
    ]:
        r = en.post(f"{public(poll)}tra-loi/", {**ballot(poll), **change})
        assert r.status_code == 400 and message in r.content.decode(), message
    assert en.post(f"{public(poll)}tra-loi/", ballot(poll)).status_code == 200
    again = en.post(f"{public(poll)}tra-loi/", ballot(poll, single=1))
    assert again.status_code == 409
    assert "This device has already answered this poll: one answer per person." in again.content.decode()
    assert en.get("/congdan/tham-do/999999/").status_code == 404

    by_phone = make_poll(tree["b"], rule="phone")
    r = en.post(f"{public(by_phone)}ma-xac-minh/", {"phone": "12345"})
    assert (
        r.status_code == 400
        and "The mobile number is not valid (for example 0912 345 678)." in r.content.decode()
    )
    r = en.post(f"{public(by_phone)}tra-loi/", {**ballot(by_phone), "phone": "0987654321", "code": "123456"})
    assert (
        r.status_code == 400 and "There is no valid verification code for this number" in r.content.decode()
    )
    en.post(f"{public(by_phone)}ma-xac-minh/", {"phone": "0987654321"})
    code = re.findall(r"gửi tới 0987654321: (\d{6})", caplog.text)[-1]
    r = en.post(f"{public(by_phone)}tra-loi/", {**ballot(by_phone), "phone": "0987654321", "code": code})
    assert r.status_code == 200
    r = en.post(f"{public(by_phone)}ma-xac-minh/", {"phone": "+84987654321"})
    assert r.status_code == 409 and "This phone number has already answered this poll" in r.content.decode()
    assert Ballot.objects.count() == 2
