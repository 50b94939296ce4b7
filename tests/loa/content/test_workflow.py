"""The editorial workflow as a table: every transition from every state, by every kind of person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import RoleAssignment, User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from tests.loa.content.helpers import Api, People, notice  # type: ignore[import-not-found]

# How to bring a new bulletin (written by op_a in commune A) to a state: (transition, who) in order.
PATHS: dict[str, list[tuple[str, str]]] = {
    "draft": [],
    "submitted": [("submit", "op_a")],
    "approved": [("submit", "op_a"), ("approve", "appr_a")],
    "published": [("submit", "op_a"), ("approve", "appr_a"), ("publish", "op_a")],
    "cancelled": [("cancel", "op_a")],
}

# (state, transition, who, expected HTTP status, state afterwards)
TABLE = [
    ("draft", "submit", "op_a", 200, "submitted"),
    ("draft", "submit", "op_a2", 200, "submitted"),
    ("draft", "submit", "appr_a", 403, "draft"),
    ("draft", "submit", "viewer_a", 403, "draft"),
    ("draft", "submit", "op_b", 404, "draft"),
    ("draft", "approve", "appr_a", 409, "draft"),
    ("draft", "publish", "op_a", 409, "draft"),
    ("draft", "withdraw", "op_a", 409, "draft"),
    ("draft", "cancel", "op_a", 200, "cancelled"),
    ("draft", "cancel", "viewer_a", 403, "draft"),
    ("submitted", "approve", "op_a", 403, "submitted"),
    ("submitted", "approve", "op_a2", 403, "submitted"),
    ("submitted", "approve", "viewer_a", 403, "submitted"),
    ("submitted", "approve", "appr_b", 404, "submitted"),
    ("submitted", "approve", "editor_p", 403, "submitted"),
    ("submitted", "approve", "appr_a", 200, "approved"),
    ("submitted", "approve", "appr_p", 200, "approved"),
    ("submitted", "reject", "appr_a", 200, "draft"),
    ("submitted", "reject", "op_a", 403, "submitted"),
    ("submitted", "withdraw", "op_a", 200, "draft"),
    ("submitted", "withdraw", "appr_a", 403, "submitted"),
    ("submitted", "submit", "op_a", 409, "submitted"),
    ("submitted", "publish", "op_a", 409, "submitted"),
    ("submitted", "cancel", "op_a", 200, "cancelled"),
    ("approved", "approve", "appr_a2", 409, "approved"),
    ("approved", "publish", "op_a", 200, "published"),
    ("approved", "publish", "appr_a", 200, "published"),
    ("approved", "publish", "viewer_a", 403, "approved"),
    ("approved", "publish", "op_b", 404, "approved"),
    ("approved", "reject", "appr_a2", 409, "approved"),
    ("approved", "cancel", "op_a", 200, "cancelled"),
    ("published", "cancel", "op_a", 200, "cancelled"),
    ("published", "cancel", "viewer_a", 403, "published"),
    ("published", "submit", "op_a", 409, "published"),
    ("published", "publish", "op_a", 409, "published"),
    ("published", "approve", "appr_a", 409, "published"),
    ("cancelled", "submit", "op_a", 409, "cancelled"),
    ("cancelled", "publish", "op_a", 409, "cancelled"),
    ("cancelled", "cancel", "op_a", 409, "cancelled"),
]


def bulletin_in(people: People, state: str) -> int:
    status, b = people["op_a"].post("", notice("06652", ["06652.001"]))
    assert status == 201, b
    for name, who in PATHS[state]:
        status, body = people[who].transition(b["id"], name)
        assert status == 200, (name, who, body)
    return int(b["id"])


@pytest.mark.parametrize(("state", "name", "who", "status", "after"), TABLE)
def test_transition_table(people: People, state: str, name: str, who: str, status: int, after: str) -> None:
    bid = bulletin_in(people, state)
    before = AuditEntry.objects.filter(action=f"bulletin.{name}").count()
    got, body = people[who].transition(bid, name, note="Cần bổ sung địa điểm." if name == "reject" else "")
    assert got == status, body
    _status, fresh = people["op_a"].get(f"/{bid}")
    assert fresh["state"] == after
    audited = AuditEntry.objects.filter(action=f"bulletin.{name}").count() - before
    assert audited == (1 if status == 200 else 0)
    if status >= 400:
        assert body["error"]["code"] and body["error"]["message"]
        assert any(ch in body["error"]["message"] for ch in "ạảãáàâêôơưđịệộ"), body  # Vietnamese


def test_author_and_last_editor_cannot_approve_even_with_the_approver_role(
    people: People, client_for: Callable[[User], Client]
) -> None:
    user = people["op_a2"].user
    RoleAssignment.objects.create(user=user, role=Role.APPROVER, unit=people.tree["a"])
    dual = Api(client_for(user), user)  # approvers need two-factor: a fresh, verified session
    # dual writes it: the author may not approve
    status, b = dual.post("", notice("06652", ["06652"]))
    assert status == 201
    assert dual.transition(b["id"], "submit")[0] == 200
    status, body = dual.transition(b["id"], "approve")
    assert (status, body["error"]["code"]) == (403, "approver_is_author")
    # op_a writes one, dual edits it last: the last editor may not approve either
    bid = bulletin_in(people, "draft")
    assert dual.patch(f"/{bid}", {"title": "Thông báo tiêm phòng dại (sửa giờ)"})[0] == 200
    assert people["op_a"].transition(bid, "submit")[0] == 200
    status, body = dual.transition(bid, "approve")
    assert (status, body["error"]["code"]) == (403, "approver_is_author")
    assert people["appr_a"].transition(bid, "approve")[0] == 200


def test_reject_needs_a_reason_and_clears_approvals(people: People) -> None:
    bid = bulletin_in(people, "submitted")
    status, body = people["appr_a"].transition(bid, "reject")
    assert (status, body["error"]["code"]) == (400, "note_required")
    assert "lý do" in body["error"]["message"]
    status, body = people["appr_a"].transition(bid, "reject", "Sai ngày tiêm.")
    assert status == 200 and body["state"] == "draft"
    rejected = [a for a in body["provenance"]["approvals"] if a["decision"] == "rejected"]
    assert rejected[0]["note"] == "Sai ngày tiêm." and rejected[0]["user"]["username"] == "appr_a"


def test_multi_step_policy_editorial_board_then_leader(people: People) -> None:
    admin_body = {
        "steps": [{"role": "editor", "label": "Ban biên tập"}, {"role": "approver", "label": "Lãnh đạo Sở"}]
    }
    # only someone who manages the province's settings may set its policy
    status, _ = people["editor_p"].call("put", "/policies/22", admin_body)
    assert status == 403
    from loa.content.policies import do_set_approval_policy

    do_set_approval_policy(people.tree["province"], admin_body["steps"], actor=_admin(people))
    editor, editor2, leader = people["editor_p"], people["editor_p2"], people["appr_p"]
    status, b = editor.post("", notice("22", ["06652", "06658"], title="Thông báo nghỉ lễ 2/9"))
    assert status == 201
    assert editor.transition(b["id"], "submit")[0] == 200
    _s, got = editor.get(f"/{b['id']}")
    assert got["current_step"] == {"number": 1, "role": "editor", "label": "Ban biên tập"}
    # step 1 is the editorial board's: the leader cannot take it, the author cannot either
    assert leader.transition(b["id"], "approve")[0] == 403
    assert editor.transition(b["id"], "approve")[1]["error"]["code"] == "approver_is_author"
    status, got = editor2.transition(b["id"], "approve")
    assert status == 200 and got["state"] == "submitted" and got["current_step"]["number"] == 2
    # step 2 is the leader's
    assert editor2.transition(b["id"], "approve")[0] == 403
    status, got = leader.transition(b["id"], "approve")
    assert status == 200 and got["state"] == "approved" and got["current_step"] is None
    steps = [(a["step"], a["user"]["username"]) for a in got["provenance"]["approvals"]]
    assert steps == [(1, "editor_p2"), (2, "appr_p")]
    # a non-substantive edit keeps the approval
    status, got = editor.patch(f"/{b['id']}", {"news_source": "Sở Văn hóa, Thể thao và Du lịch"})
    assert status == 200 and got["state"] == "approved" and got["version"] == 2
    # a substantive edit sends it back to review, approvals cleared
    status, got = editor.patch(f"/{b['id']}", {"body": "Nghỉ lễ Quốc khánh từ 31/8 đến hết 3/9."})
    assert status == 200 and got["state"] == "submitted" and got["current_step"]["number"] == 1
    assert all(a["cleared"] for a in got["provenance"]["approvals"])
    assert AuditEntry.objects.filter(action="bulletin.return_to_review", object_id=str(b["id"])).count() == 1


@pytest.mark.parametrize(
    "field", [("title", "Thông báo mới"), ("priority", 2), ("receivers", ["06652"]), ("summary", "Khác")]
)
def test_substantive_edit_after_approval_returns_to_review(people: People, field: tuple[str, Any]) -> None:
    bid = bulletin_in(people, "approved")
    status, got = people["op_a"].patch(f"/{bid}", {field[0]: field[1]})
    assert status == 200 and got["state"] == "submitted", got
    assert people["appr_a"].transition(bid, "approve")[1]["state"] == "approved"


def test_published_bulletin_is_not_edited_but_replaced(people: People) -> None:
    bid = bulletin_in(people, "published")
    status, body = people["op_a"].patch(f"/{bid}", {"title": "Khác"})
    assert (status, body["error"]["code"]) == (409, "bulletin_not_editable")
    status, new = people["op_a"].post(f"/{bid}/replace")
    assert status == 201 and new["provenance"]["replaces"]["id"] == bid
    for name, who in PATHS["published"]:
        assert people[who].transition(new["id"], name)[0] == 200
    _s, old = people["op_a"].get(f"/{bid}")
    assert old["state"] == "expired" and old["provenance"]["superseded_by"]["id"] == new["id"]


def test_versions_and_diff(people: People) -> None:
    bid = bulletin_in(people, "draft")
    people["op_a"].patch(f"/{bid}", {"title": "Thông báo lịch tiêm phòng dại (đợt 2)"})
    status, versions = people["op_a"].get(f"/{bid}/versions")
    assert status == 200 and [v["number"] for v in versions] == [1, 2]
    status, diff = people["op_a"].get(f"/{bid}/versions/2/diff")
    assert status == 200
    assert "-Tiêu đề: Thông báo lịch tiêm phòng dại cho chó, mèo" in diff["unified"]
    assert "+Tiêu đề: Thông báo lịch tiêm phòng dại (đợt 2)" in diff["unified"]
    assert people["op_a"].get(f"/{bid}/versions/7/diff")[0] == 404


def test_comments(people: People) -> None:
    bid = bulletin_in(people, "submitted")
    status, c = people["appr_a"].post(f"/{bid}/comments", {"text": "Ghi rõ giờ kết thúc."})
    assert status == 201 and c["author"] == "appr_a"
    assert people["viewer_a"].post(f"/{bid}/comments", {"text": "Tôi xem thôi"})[0] == 403
    assert people["op_a"].post(f"/{bid}/comments", {"text": "   "})[1]["error"]["code"] == "comment_required"
    status, listed = people["viewer_a"].get(f"/{bid}/comments")
    assert status == 200 and [x["text"] for x in listed] == ["Ghi rõ giờ kết thúc."]


def test_approval_queue_lists_what_i_may_approve(people: People) -> None:
    bid = bulletin_in(people, "submitted")
    ids = lambda who: [b["id"] for b in people[who].get("/approvals")[1]["items"]]  # noqa: E731
    assert bid in ids("appr_a") and bid in ids("appr_p")
    assert bid not in ids("appr_b") and bid not in ids("op_a")


def _admin(people: People) -> Any:
    from loa.accounts.models import User

    return User.objects.create_user("tinh-admin", password="x-y-z-1234567", is_superuser=True)
