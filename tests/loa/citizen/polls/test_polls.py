"""Polls end to end: an operator builds and publishes a poll in the console; citizens answer on the public page,
one ballot per device token or per verified phone (answered twice from the same phone: one vote counts); results
shown as the poll's setting says; CSV/XLSX exports neutralise formulas; another commune sees nothing; bad input
gets a Vietnamese message; every change is audited."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.citizen.polls import services
from loa.citizen.polls.models import Ballot, Poll, Question
from loa.units.models import Unit

NOW = timezone.now()


def make_poll(unit: Unit, *, rule: str = "device", results: str = "always", publish: bool = True) -> Poll:
    poll = services.do_create_poll(
        unit, actor=None, title="Giờ phát thanh buổi sáng", opens_at=NOW - dt.timedelta(hours=1),
        closes_at=NOW + dt.timedelta(days=7), results=results, vote_rule=rule,
    )  # fmt: skip
    services.do_add_question(
        poll, actor=None, kind="single", text="Giờ nào hợp lý?", choices=["5 giờ 30", "6 giờ"]
    )
    services.do_add_question(poll, actor=None, kind="multiple", text="Nội dung muốn nghe?",
                             choices=["Thời tiết", "Giá nông sản", "Pháp luật"])  # fmt: skip
    services.do_add_question(
        poll, actor=None, kind="scale", text="Nghe có rõ không?", scale_min=1, scale_max=5
    )
    services.do_add_question(poll, actor=None, kind="text", text="Góp ý khác", required=False)
    if publish:
        services.do_publish(poll, actor=None)
    return poll


def ballot(poll: Poll, *, single: int = 0, multiple: tuple[int, ...] = (0, 1), scale: int = 4,
           text: str = "") -> dict[str, Any]:  # fmt: skip
    qs = list(poll.questions.prefetch_related("choices"))
    data: dict[str, Any] = {
        f"q{qs[0].pk}": str(list(qs[0].choices.all())[single].pk),
        f"q{qs[1].pk}": [str(list(qs[1].choices.all())[i].pk) for i in multiple],
        f"q{qs[2].pk}": str(scale),
    }
    if text:
        data[f"q{qs[3].pk}"] = text
    return data


def public(poll: Poll) -> str:
    return f"/congdan/tham-do/{poll.pk}/"


def test_an_operator_builds_publishes_and_closes_a_poll_in_the_console(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    operator = make_user("can-bo-ha-tu", Role.COMMUNE_OPERATOR, tree["a"])
    client = client_for(operator)
    r = client.post("/polls/new/?unit=06652", {
        "title": "Lịch tiêm phòng", "description": "", "unit": "06652", "opens_at": "2026-01-01T07:00",
        "closes_at": "2030-01-01T07:00", "results": "after_close", "vote_rule": "phone",
    })  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    poll = Poll.objects.get()
    assert poll.opens_at == dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)  # 07:00 Vietnam time, stored in UTC
    url = f"/polls/{poll.pk}/"
    assert client.post(f"{url}questions/", {"kind": "single", "text": "Buổi nào?", "choices": "Sáng\nChiều\n",
                                            "required": "1"}).status_code == 302  # fmt: skip
    assert client.post(f"{url}questions/", {"kind": "scale", "text": "Hài lòng?", "scale_min": "1",
                                            "scale_max": "5"}).status_code == 302  # fmt: skip
    assert [q.kind for q in poll.questions.all()] == ["single", "scale"]
    assert client.post(f"{url}publish/").status_code == 302
    poll.refresh_from_db()
    assert poll.state == "published"
    page = client.get(url).content.decode()
    assert "Kết quả" in page and f"/congdan/tham-do/{poll.pk}/" in page
    refused = client.post(f"{url}questions/", {"kind": "text", "text": "Thêm?"})
    assert refused.status_code == 409 and "không sửa câu hỏi được nữa" in refused.content.decode()
    assert client.post(f"{url}close/").status_code == 302
    assert [a for a in AuditEntry.objects.filter(object_id=str(poll.pk), action__startswith="polls.")
            .order_by("pk").values_list("action", flat=True)] == [
        "polls.created", "polls.updated", "polls.updated", "polls.opened", "polls.closed"]  # fmt: skip


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"title": ""}, "Cần tiêu đề cuộc thăm dò."),
        ({"closes_at": "2025-12-31T07:00"}, "Thời điểm đóng phải sau thời điểm mở."),
        ({"opens_at": "ngày mai"}, "Ngày giờ không hợp lệ."),
        ({"results": "x"}, "Chọn cách công khai kết quả."),
    ],
)
def test_a_bad_poll_is_refused_in_vietnamese(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client],
    form: dict[str, str], message: str,
) -> None:  # fmt: skip
    client = client_for(make_user("can-bo", Role.COMMUNE_OPERATOR, tree["a"]))
    base = {"title": "Thăm dò", "unit": "06652", "opens_at": "2026-01-01T07:00", "closes_at": "2030-01-01T07:00",
            "results": "always", "vote_rule": "device"}  # fmt: skip
    r = client.post("/polls/new/?unit=06652", {**base, **form})
    assert r.status_code == 400 and message in r.content.decode()
    assert not Poll.objects.exists()


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({"kind": "single", "text": "Chọn?", "choices": "Một"}, "ít nhất 2 lựa chọn"),
        ({"kind": "multiple", "text": "Chọn?", "choices": "A\nA"}, "Có lựa chọn bị trùng."),
        (
            {"kind": "scale", "text": "Điểm?", "scale_min": "5", "scale_max": "1"},
            "Thang điểm phải từ 0 đến 10",
        ),
        ({"kind": "text", "text": "  "}, "Cần nội dung câu hỏi."),
        ({"kind": "bogus", "text": "?"}, "Chọn loại câu hỏi."),
    ],
)
def test_a_bad_question_is_refused_in_vietnamese(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client],
    question: dict[str, str], message: str,
) -> None:  # fmt: skip
    client = client_for(make_user("can-bo", Role.COMMUNE_OPERATOR, tree["a"]))
    poll = make_poll(tree["a"], publish=False)
    r = client.post(f"/polls/{poll.pk}/questions/", question)
    assert r.status_code == 400 and message in r.content.decode()
    assert poll.questions.count() == 4


def test_one_device_one_vote(tree: dict[str, Unit]) -> None:
    poll = make_poll(tree["a"])
    phone = Client()
    assert phone.get(public(poll)).status_code == 200  # the page gives the device its token
    r = phone.post(f"{public(poll)}tra-loi/", ballot(poll, text="Nên phát thêm buổi chiều"))
    assert r.status_code == 200 and "Cảm ơn bạn đã trả lời" in r.content.decode()
    again = phone.post(f"{public(poll)}tra-loi/", ballot(poll, single=1))
    assert again.status_code == 409
    assert "Thiết bị này đã trả lời cuộc thăm dò này" in again.content.decode()
    assert Ballot.objects.filter(poll=poll).count() == 1
    no_cookie = Client().post(f"{public(poll)}tra-loi/", ballot(poll))
    assert no_cookie.status_code == 400 and "hãy bật cookie" in no_cookie.content.decode()
    other = Client()
    other.get(public(poll))
    assert other.post(f"{public(poll)}tra-loi/", ballot(poll, single=1)).status_code == 200
    page = (
        Client().get(public(poll)).content.decode()
    )  # results "always": on the public page, without the texts
    assert "2 người đã trả lời." in page and "Nên phát thêm buổi chiều" not in page


def _code(caplog: Any, phone: str) -> str:
    found = re.findall(rf"gửi tới {phone}: (\d{{6}})", caplog.text)
    assert found, caplog.text
    return found[-1]


def test_answered_twice_from_the_same_phone_one_vote_counts(tree: dict[str, Unit], caplog: Any) -> None:
    caplog.set_level("WARNING", logger="loa.citizen.codes")
    poll = make_poll(tree["a"], rule="phone")
    first, second = Client(), Client()  # two browsers (or a cleared cookie) with the same phone number
    assert first.post(f"{public(poll)}ma-xac-minh/", {"phone": "0912 345 678"}).status_code == 200
    assert second.post(f"{public(poll)}ma-xac-minh/", {"phone": "+84912345678"}).status_code == 200
    code_first, code_second = re.findall(r"gửi tới 0912345678: (\d{6})", caplog.text)
    r = first.post(f"{public(poll)}tra-loi/", {**ballot(poll), "phone": "0912345678", "code": code_first})
    assert r.status_code == 200 and "Cảm ơn bạn đã trả lời" in r.content.decode()
    r = second.post(
        f"{public(poll)}tra-loi/", {**ballot(poll, single=1), "phone": "0912345678", "code": code_second}
    )
    assert r.status_code == 409 and "Số điện thoại này đã trả lời cuộc thăm dò này" in r.content.decode()
    assert Ballot.objects.filter(poll=poll).count() == 1
    r = Client().post(f"{public(poll)}ma-xac-minh/", {"phone": "84912345678"})
    assert r.status_code == 409 and "mỗi số chỉ một lần" in r.content.decode()
    # no phone number is stored anywhere in the poll's tables
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("polls_ballot", "polls_phonecode", "polls_answer"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            assert "912345678" not in repr(cursor.fetchall())


def test_phone_codes_refuse_bad_input_in_vietnamese(tree: dict[str, Unit], caplog: Any) -> None:
    caplog.set_level("WARNING", logger="loa.citizen.codes")
    poll = make_poll(tree["a"], rule="phone")
    c = Client()
    r = c.post(f"{public(poll)}ma-xac-minh/", {"phone": "12345"})
    assert r.status_code == 400 and "Số điện thoại di động không hợp lệ" in r.content.decode()
    r = c.post(f"{public(poll)}tra-loi/", {**ballot(poll), "phone": "0987654321", "code": "123456"})
    assert r.status_code == 400 and "hãy bấm “Gửi mã”" in r.content.decode()
    c.post(f"{public(poll)}ma-xac-minh/", {"phone": "0987654321"})
    right = _code(caplog, "0987654321")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    r = c.post(f"{public(poll)}tra-loi/", {**ballot(poll), "phone": "0987654321", "code": wrong})
    assert r.status_code == 400 and "Mã xác minh không đúng." in r.content.decode()
    r = c.post(f"{public(poll)}tra-loi/", {"phone": "0987654321", "code": right})
    assert r.status_code == 400 and "Câu 1 (“Giờ nào hợp lý?”): cần trả lời." in r.content.decode()
    for _ in range(2):
        c.post(f"{public(poll)}ma-xac-minh/", {"phone": "0987654321"})
    r = c.post(f"{public(poll)}ma-xac-minh/", {"phone": "0987654321"})
    assert r.status_code == 429 and "quá nhiều mã" in r.content.decode()
    assert not Ballot.objects.exists()


def test_bad_answers_are_refused_naming_the_question(tree: dict[str, Unit]) -> None:
    poll = make_poll(tree["a"])
    qs = list(poll.questions.all())
    c = Client()
    c.get(public(poll))
    for change, message in [
        ({f"q{qs[0].pk}": "999999"}, "Câu 1 (“Giờ nào hợp lý?”): lựa chọn không có trong câu hỏi."),
        ({f"q{qs[2].pk}": "9"}, "Câu 3 (“Nghe có rõ không?”): chọn một điểm từ 1 đến 5."),
        ({f"q{qs[3].pk}": "x" * 2001}, "Câu 4 (“Góp ý khác”): câu trả lời dài quá 2000 ký tự."),
    ]:
        r = c.post(f"{public(poll)}tra-loi/", {**ballot(poll), **change})
        assert r.status_code == 400 and message in r.content.decode(), message
    assert not Ballot.objects.exists()


def test_results_are_shown_as_the_poll_says_and_drafts_are_not_public(tree: dict[str, Unit]) -> None:
    draft = make_poll(tree["a"], publish=False)
    assert Client().get(public(draft)).status_code == 404
    assert "Giờ phát thanh" not in Client().get("/congdan/tham-do/?xa=06652").content.decode()
    later = make_poll(tree["a"], results="after_close")
    staff = make_poll(tree["a"], results="staff")
    for poll in (later, staff):
        c = Client()
        c.get(public(poll))
        c.post(f"{public(poll)}tra-loi/", ballot(poll))
        assert "người đã trả lời" not in Client().get(public(poll)).content.decode()
    services.do_close(later, actor=None)
    services.do_close(staff, actor=None)
    assert "1 người đã trả lời." in Client().get(public(later)).content.decode()
    assert "người đã trả lời" not in Client().get(public(staff)).content.decode()
    listing = Client().get("/congdan/tham-do/?xa=06652").content.decode()
    assert f"/congdan/tham-do/{later.pk}/" in listing
    assert f"/congdan/tham-do/{later.pk}/" not in Client().get("/congdan/tham-do/?xa=06658").content.decode()
    r = Client().post(f"{public(later)}tra-loi/", ballot(later))
    assert r.status_code == 409 and "Cuộc thăm dò đã đóng" in r.content.decode()


def test_exports_neutralise_formulas_and_are_audited(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    from openpyxl import load_workbook

    poll = make_poll(tree["a"])
    for i, text in enumerate(['=HYPERLINK("http://x","Bấm")', "Phát to hơn"]):
        c = Client()
        c.get(public(poll))
        assert c.post(f"{public(poll)}tra-loi/", ballot(poll, single=i, text=text)).status_code == 200
    client = client_for(make_user("can-bo", Role.VIEWER, tree["a"]))
    csv_text = client.get(f"/polls/{poll.pk}/export.csv").content.decode("utf-8-sig")
    assert "5 giờ 30,1,50.0" in csv_text and "Thời tiết,2,100.0" in csv_text
    assert "'=HYPERLINK" in csv_text and "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text
    xlsx = client.get(f"/polls/{poll.pk}/export.xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    rows = [tuple(r) for r in ws.iter_rows(min_row=4, values_only=True)]
    assert (1, "Giờ nào hợp lý?", "Chọn một", "6 giờ", 1, 50.0) in rows
    assert any(r[3] == '\'=HYPERLINK("http://x","Bấm")' for r in rows)
    assert any(r[3] == "Điểm trung bình" and r[4] == 4 for r in rows)
    assert AuditEntry.objects.filter(action="polls.exported").count() == 2
    assert client.get(f"/polls/{poll.pk}/export.pdf").status_code == 404


def test_another_commune_can_neither_see_nor_change_a_poll(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    poll = make_poll(tree["b"], publish=False)
    client = client_for(make_user("can-bo-ha-tu", Role.COMMUNE_OPERATOR, tree["a"]))
    for method, path in [("get", ""), ("get", "export.csv"), ("post", "publish/"), ("post", "close/"),
                         ("post", "questions/")]:  # fmt: skip
        r = getattr(client, method)(f"/polls/{poll.pk}/{path}", {"kind": "text", "text": "?"})
        assert r.status_code == 404, (method, path, r.status_code)
    assert "Giờ phát thanh" not in client.get("/polls/?unit=06652").content.decode()
    r = client.post("/polls/new/?unit=06652", {"title": "X", "unit": "06658", "opens_at": "2026-01-01T07:00",
                                               "closes_at": "2030-01-01T07:00", "results": "always",
                                               "vote_rule": "device"})  # fmt: skip
    assert r.status_code in (403, 404)
    poll.refresh_from_db()
    assert poll.state == "draft" and poll.questions.count() == 4 and Poll.objects.count() == 1
    assert Question.objects.filter(poll=poll).count() == 4


def test_a_refused_ballot_keeps_the_answers_in_the_form(tree: dict[str, Unit]) -> None:
    poll = make_poll(tree["a"])
    qs = list(poll.questions.all())
    c = Client()
    c.get(public(poll))
    data = {**ballot(poll, single=1, text="Nên phát thêm buổi chiều"), f"q{qs[2].pk}": "9"}
    page = c.post(f"{public(poll)}tra-loi/", data).content.decode()
    chosen = list(qs[0].choices.all())[1].pk
    assert f'value="{chosen}" checked' in page and "Nên phát thêm buổi chiều</textarea>" in page


def test_a_draft_can_be_edited_and_bad_dates_are_refused(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user("can-bo", Role.COMMUNE_OPERATOR, tree["a"]))
    poll = make_poll(tree["a"], publish=False)
    url = f"/polls/{poll.pk}/edit/"
    form = {"title": "Giờ phát thanh buổi tối", "description": "", "opens_at": "2026-01-01T19:00",
            "closes_at": "2030-01-01T19:00", "results": "staff", "vote_rule": "phone"}  # fmt: skip
    assert client.get(url).status_code == 200
    r = client.post(url, {**form, "closes_at": "2025-01-01T19:00"})
    assert r.status_code == 400 and "Thời điểm đóng phải sau thời điểm mở." in r.content.decode()
    poll.refresh_from_db()
    assert poll.title == "Giờ phát thanh buổi sáng"
    assert client.post(url, form).status_code == 302
    poll.refresh_from_db()
    assert (poll.title, poll.results, poll.vote_rule) == ("Giờ phát thanh buổi tối", "staff", "phone")
    services.do_publish(poll, actor=None)
    r = client.post(url, form)
    assert r.status_code == 409 and "không sửa câu hỏi được nữa" in r.content.decode()


def test_the_demo_poll_is_seeded_once_and_open(tree: dict[str, Unit]) -> None:
    from loa.citizen.polls.demo import seed_demo_poll

    assert seed_demo_poll(tree["a"]) == seed_demo_poll(tree["a"])
    poll = Poll.objects.get()
    assert poll.is_open() and poll.questions.count() == 4
    assert "Buổi phát thanh sáng" in Client().get(public(poll)).content.decode()
