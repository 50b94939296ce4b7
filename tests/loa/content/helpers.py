"""Helpers for bulletin tests: an API client wrapper, the people of a province and two communes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Unit


@dataclass
class Api:
    client: Client
    user: User

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = "/api/v1/bulletins" + path
        if body is None:
            response = getattr(self.client, method)(url)
        else:
            response = getattr(self.client, method)(url, json.dumps(body), content_type="application/json")
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("get", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self.call("post", path, {} if body is None else body)

    def patch(self, path: str, body: Any) -> tuple[int, Any]:
        return self.call("patch", path, body)

    def transition(self, bulletin_id: int, name: str, note: str = "") -> tuple[int, Any]:
        return self.post(f"/{bulletin_id}/transitions", {"name": name, "note": note})


@dataclass
class People:
    tree: dict[str, Unit]
    api: dict[str, Api] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Api:
        return self.api[key]


PEOPLE = {
    # key: (role, unit key)
    "op_a": (Role.COMMUNE_OPERATOR, "a"),
    "op_a2": (Role.COMMUNE_OPERATOR, "a"),
    "appr_a": (Role.APPROVER, "a"),
    "appr_a2": (Role.APPROVER, "a"),
    "viewer_a": (Role.VIEWER, "a"),
    "op_b": (Role.COMMUNE_OPERATOR, "b"),
    "appr_b": (Role.APPROVER, "b"),
    "editor_p": (Role.EDITOR, "province"),
    "editor_p2": (Role.EDITOR, "province"),
    "appr_p": (Role.APPROVER, "province"),
}


def notice(origin: str, receivers: list[str], **extra: Any) -> dict[str, Any]:
    """A realistic commune notice."""
    return {
        "origin_unit": origin,
        "title": "Thông báo lịch tiêm phòng dại cho chó, mèo",
        "summary": "Tiêm phòng dại miễn phí tại nhà văn hóa các tổ dân phố.",
        "body": "Ủy ban nhân dân phường thông báo: từ 7h30 ngày 22/5, tiêm phòng dại cho chó, mèo tại nhà "
        "văn hóa tổ dân phố 1. Đề nghị các hộ gia đình đưa vật nuôi đến tiêm đúng giờ.",
        "field": 4,
        "content_type": 1,
        "priority": 3,
        "receivers": receivers,
        **extra,
    }
