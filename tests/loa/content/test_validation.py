"""Bad input gets a 4xx with a machine-readable code and a Vietnamese message, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from loa.content.models import Bulletin
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

BAD_CREATE = [
    ({"title": ""}, 400, "title_required", "Tiêu đề không được để trống"),
    ({"title": "x" * 301}, 400, "text_too_long", "Tiêu đề: dài quá 300 ký tự"),
    ({"field": 9}, 400, "field_invalid", "Lĩnh vực không hợp lệ"),
    ({"priority": 0}, 400, "priority_invalid", "Mức độ ưu tiên không hợp lệ"),
    ({"content_type": 7}, 400, "content_type_invalid", "Loại bản tin không hợp lệ"),
    ({"content_type": "chữ"}, 422, "validation_error", "content_type: phải là số nguyên"),
    ({"language": "fr"}, 400, "language_invalid", "Ngôn ngữ không hợp lệ"),
    ({"receivers": ["19768"]}, 400, "receiver_out_of_scope", "nằm ngoài phạm vi"),
    ({"receivers": ["99999"]}, 400, "receiver_unknown", "Không tìm thấy địa bàn nhận"),
    ({"receivers": "06652"}, 422, "validation_error", "receivers"),
    ({"author_email": "khong-phai-email"}, 400, "author_email_invalid", "E-mail tác giả không hợp lệ"),
    ({"is_relay": True}, 400, "relay_source_required", "nguồn tiếp âm"),
    ({"duration_s": -5}, 400, "duration_invalid", "Thời lượng"),
    (
        {"valid_from": "2030-05-02T08:00:00+07:00", "valid_until": "2030-05-01T08:00:00+07:00"},
        400,
        "validity_window_invalid",
        "hết hiệu lực phải sau",
    ),
    ({"valid_until": "ngày mai"}, 422, "validation_error", "valid_until: phải là thời điểm"),
    ({"extras": [{"name": " ", "value": "1"}]}, 400, "extras_name_required", "tên không được để trống"),
    ({"origin_unit": "19768"}, 404, "unit_not_found", "Không tìm thấy đơn vị"),
    ({"origin_unit": "06652.001"}, 400, "origin_is_zone", "không ở cấp thôn"),
]


@pytest.mark.parametrize(("change", "status", "code", "text"), BAD_CREATE)
def test_bad_bulletin_is_refused_in_vietnamese(
    people: People, change: dict[str, Any], status: int, code: str, text: str
) -> None:
    got, body = people["op_a"].post("", notice("06652", ["06652"]) | change)
    assert got == status, body
    assert body["error"]["code"] == code
    assert text in body["error"]["message"], body["error"]["message"]
    assert not Bulletin.objects.exists()


def test_malformed_json_and_unknown_transition(people: People) -> None:
    response = people["op_a"].client.post("/api/v1/bulletins", "{nope", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]
    _status, b = people["op_a"].post("", notice("06652", ["06652"]))
    got, body = people["op_a"].transition(b["id"], "expire")
    assert got == 422 and "không thuộc các giá trị cho phép" in body["error"]["message"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"receivers": []}, "receivers_required"),
        ({"body": "", "summary": ""}, "body_required"),
        ({"content_type": 3}, "audio_required"),
        ({"valid_until": "2020-01-01T00:00:00+07:00"}, "validity_over"),
    ],
)
def test_submit_checks_what_review_needs(people: People, change: dict[str, Any], code: str) -> None:
    status, b = people["op_a"].post("", notice("06652", ["06652"]) | change)
    assert status == 201, b
    got, body = people["op_a"].transition(b["id"], "submit")
    assert (got, body["error"]["code"]) == (400, code)
    assert people["op_a"].get(f"/{b['id']}")[1]["state"] == "draft"


def test_library_filters(people: People) -> None:
    api = people["op_a"]
    api.post("", notice("06652", ["06652"], title="Lịch cắt điện tuần này", field=1, priority=2))
    api.post("", notice("06652", ["06652"], title="Tuyên truyền phòng chống sốt xuất huyết", field=5))
    titles = lambda q: sorted(x["title"] for x in api.get("?" + q)[1]["items"])  # noqa: E731
    assert titles("q=cắt điện") == ["Lịch cắt điện tuần này"]
    assert titles("field=5") == ["Tuyên truyền phòng chống sốt xuất huyết"]
    assert titles("priority=2&state=draft") == ["Lịch cắt điện tuần này"]
    assert titles("state=published") == []
    status, body = api.get("?state=lung-tung")
    assert (status, body["error"]["code"]) == (422, "state_invalid")
    assert api.get("?date_from=2020-01-01")[1]["count"] == 2
    assert api.get("?date_to=2020-01-01")[1]["count"] == 0
    assert api.get("?date_from=hôm-qua")[0] == 422


def test_approval_policy_validation(people: People, make_user: Any, client_for: Any) -> None:
    from loa.accounts.roles import Role
    from tests.loa.content.helpers import Api  # type: ignore[import-not-found]

    admin_user = make_user("qt-tinh", Role.PROVINCE_ADMIN, people.tree["province"])
    admin = Api(client_for(admin_user), admin_user)
    status, body = admin.call("put", "/policies/22", {"steps": []})
    assert (status, body["error"]["code"]) == (400, "steps_required")
    status, body = admin.call("put", "/policies/22", {"steps": [{"role": "approver"}, {"role": "editor"}]})
    assert (status, body["error"]["code"]) == (400, "last_step_not_approver")
    status, body = admin.call("put", "/policies/22", {"steps": [{"role": "viewer"}]})
    assert status == 422
    status, body = admin.call("put", "/policies/22", {"steps": [{"role": "editor"}, {"role": "approver"}]})
    assert status == 200 and [s["label"] for s in body["steps"]] == [
        "Ban biên tập thẩm định",
        "Lãnh đạo duyệt",
    ]
    assert people["op_a"].get("/policies/06652")[1]["steps"] == [{"role": "approver", "label": "Người duyệt"}]
    assert people["op_b"].get("/policies/06652")[0] == 404
