"""A unit's abbreviation table in the console and the API (issue 22): per unit, inherited down the tree, context
words, bad input refused in Vietnamese, every change audited, another commune's table out of reach."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.tts.models import Abbreviation

PASSWORD = "Mat-khau-thu-nghiem-2026"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _read(client: Client, unit: str, text: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/tts/normalize", json.dumps({"text": text, "unit": unit}), content_type="application/json"
    )
    assert r.status_code == 200, r.content
    return dict(r.json())


@pytest.fixture
def editor_a(tree: Any, make_user: Callable[..., User]) -> User:
    return make_user("bientap_a", Role.EDITOR, tree["a"])


def test_an_entry_of_a_commune_is_read_there_and_not_in_another(
    tree: Any, editor_a: User, make_user: Callable[..., User]
) -> None:
    client = _client(editor_a)
    r = client.post(
        "/tts/abbreviations/",
        {"unit": tree["a"].code, "text": "HTX", "reading": "hợp tác xã nông nghiệp", "near": ""},
    )
    assert r.status_code == 302
    assert _read(client, tree["a"].code, "Họp HTX Hà Tu")["read_as"] == "Họp hợp tác xã nông nghiệp Hà Tu"
    editor_b = make_user("bientap_b", Role.EDITOR, tree["b"])
    # commune B keeps the bundled reading
    assert _read(_client(editor_b), tree["b"].code, "Họp HTX")["read_as"] == "Họp hợp tác xã"
    entry = AuditEntry.objects.get(action="tts.abbreviation_saved")
    assert entry.unit_code == tree["a"].code and "HTX" in entry.message


def test_a_province_entry_applies_to_its_communes_and_a_commune_entry_wins(
    tree: Any, editor_a: User, make_user: Callable[..., User]
) -> None:
    Abbreviation.objects.create(unit=tree["province"], text="KDL", reading="khu du lịch")
    assert _read(_client(editor_a), tree["a"].code, "KDL Bãi Cháy")["read_as"] == "khu du lịch Bãi Cháy"
    Abbreviation.objects.create(unit=tree["a"], text="KDL", reading="khu dân lập")
    assert _read(_client(editor_a), tree["a"].code, "KDL Bãi Cháy")["read_as"] == "khu dân lập Bãi Cháy"


def test_context_words_choose_the_reading(tree: Any, editor_a: User) -> None:
    client = _client(editor_a)
    client.post(
        "/tts/abbreviations/", {"unit": tree["a"].code, "text": "CB", "reading": "cán bộ", "near": "thôn, xã"}
    )
    client.post(
        "/tts/abbreviations/",
        {"unit": tree["a"].code, "text": "CB", "reading": "cảnh báo", "near": "lũ, mưa"},
    )
    assert _read(client, tree["a"].code, "Họp CB thôn")["read_as"] == "Họp cán bộ thôn"
    assert _read(client, tree["a"].code, "Phát CB lũ quét")["read_as"] == "Phát cảnh báo lũ quét"
    # near none of the words: the abbreviation is spelled as before
    assert _read(client, tree["a"].code, "Chữ CB")["read_as"] == "Chữ xê bê"


def test_the_reading_marks_what_changed(tree: Any, editor_a: User) -> None:
    data = _read(_client(editor_a), tree["a"].code, "UBND xã họp ngày 22/5")
    assert [(s["text"], s["changed"]) for s in data["spans"]] == [
        ("ủy ban nhân dân", True), (" xã họp ngày ", False), ("hai mươi hai tháng năm", True),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"text": "", "reading": "x"}, "text", "Hãy nhập chữ viết tắt"),
        ({"text": "B C", "reading": "x"}, "text", "không có dấu cách"),
        ({"text": "123", "reading": "x"}, "text", "ít nhất một chữ cái"),
        ({"text": "QL", "reading": ""}, "reading", "Hãy nhập cách đọc"),
        ({"text": "QL18", "reading": "quốc lộ 18"}, "reading", "không dùng chữ số"),
        (
            {"text": "CB", "reading": "cán bộ", "near": ",".join(f"w{i}" for i in range(30))},
            "near",
            "Tối đa 20",
        ),
    ],
)
def test_bad_input_is_refused_in_vietnamese_and_saves_nothing(
    tree: Any, editor_a: User, form: dict[str, str], field: str, words: str
) -> None:
    r = _client(editor_a).post("/tts/abbreviations/", {"unit": tree["a"].code, "near": "", **form})
    assert r.status_code == 400
    assert words in r.content.decode()
    assert f'name="{field}"' in r.content.decode()
    assert not Abbreviation.objects.exists()
    assert not AuditEntry.objects.filter(action="tts.abbreviation_saved").exists()


def test_another_communes_table_is_out_of_reach(tree: Any, editor_a: User) -> None:
    theirs = Abbreviation.objects.create(unit=tree["b"], text="CXH", reading="hội Cao Xanh")
    client = _client(editor_a)
    assert client.get(f"/tts/abbreviations/?unit={tree['b'].code}").status_code == 404
    r = client.post("/tts/abbreviations/", {"unit": tree["b"].code, "text": "X", "reading": "ích"})
    assert r.status_code == 404
    assert client.post(f"/tts/abbreviations/{theirs.pk}/delete/").status_code == 404
    assert Abbreviation.objects.filter(pk=theirs.pk).exists()
    r = client.post(
        "/api/v1/tts/normalize",
        json.dumps({"text": "CXH", "unit": tree["b"].code}),
        content_type="application/json",
    )
    assert r.status_code == 404 and "Cao Xanh" not in r.content.decode()


def test_a_viewer_cannot_change_the_table(tree: Any, make_user: Callable[..., User]) -> None:
    viewer = make_user("xem_a", Role.VIEWER, tree["a"])
    r = _client(viewer).post("/tts/abbreviations/", {"unit": tree["a"].code, "text": "X", "reading": "ích"})
    assert r.status_code == 403
    assert not Abbreviation.objects.exists()


def test_delete_is_audited(tree: Any, editor_a: User) -> None:
    mine = Abbreviation.objects.create(unit=tree["a"], text="HTX", reading="hợp tác xã")
    r = _client(editor_a).post(f"/tts/abbreviations/{mine.pk}/delete/")
    assert r.status_code == 302
    assert not Abbreviation.objects.filter(pk=mine.pk).exists()
    assert AuditEntry.objects.get(action="tts.abbreviation_deleted").unit_code == tree["a"].code


def test_the_page_shows_the_try_sentence_with_marks(tree: Any, editor_a: User) -> None:
    r = _client(editor_a).get(f"/tts/abbreviations/?unit={tree['a'].code}&sentence=Họp+BCH+Quân+sự+lúc+7h30")
    page = r.content.decode()
    assert r.status_code == 200
    assert "<mark>ban chỉ huy</mark>" in page and "<mark>bảy giờ ba mươi phút</mark>" in page
