"""Accounts API: who am I, users and roles within scope, API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from loa.accounts import services
from loa.accounts.access import (
    access_anywhere,
    access_role_grant,
    access_role_revoke,
    access_unit_code,
    can,
    is_system_admin,
)
from loa.accounts.models import ApiToken, RoleAssignment
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError
from loa.api.types import ApiDateTime

router = Router()


class GrantOut(Schema):
    id: int
    role: str
    unit_code: str | None


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    roles: list[GrantOut]


class RoleIn(Schema):
    role: str = Field(..., max_length=32)
    unit_code: str | None = Field(None, max_length=16)


class UserIn(Schema):
    username: str = Field(..., max_length=63)
    full_name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)


class NewUserOut(Schema):
    user: UserOut
    one_time_password: str


class TokenIn(Schema):
    name: str = Field(..., max_length=100)
    scopes: list[str] = Field(..., max_length=50)
    expires_at: ApiDateTime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class NewTokenOut(TokenOut):
    token: str


def _user_out(user: Any, viewer: Any, token: Any) -> dict[str, Any]:
    assignments = list(user.role_assignments.all())  # prefetched with their units by the lists
    if viewer.pk != user.pk:
        assignments = [
            a
            for a in assignments
            if (a.unit is None and is_system_admin(viewer))
            or (a.unit and can(viewer, a.unit, "user.view", token))
        ]
    return {
        "id": user.pk,
        "username": user.username,
        "full_name": user.full_name,
        "roles": [
            {"id": a.pk, "role": a.role, "unit_code": a.unit.code if a.unit else None} for a in assignments
        ],
    }


def _token_out(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.pk,
        "name": t.name,
        "prefix": t.prefix,
        "scopes": t.scopes,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked": t.revoked_at is not None,
    }


@router.get("/me", response={200: UserOut, **ERROR_RESPONSES}, summary="Người dùng hiện tại và vai trò")
def me(request: HttpRequest) -> Any:
    return _user_out(request.user, request.user, token_of(request))


@router.get("/users", response={200: list[UserOut], **ERROR_RESPONSES}, summary="Người dùng trong phạm vi")
def list_users(request: HttpRequest) -> Any:
    users = (
        services.visible_users(request.user, token_of(request))
        .order_by("username")
        .prefetch_related("role_assignments__unit")[:1000]
    )
    return [_user_out(u, request.user, token_of(request)) for u in users]


@router.post("/users", response={201: NewUserOut, **ERROR_RESPONSES}, summary="Tạo người dùng (kèm vai trò)")
def create_user(request: HttpRequest, payload: UserIn, role: str, unit_code: str) -> Any:
    unit = access_unit_code(request.user, unit_code, "user.manage", token_of(request))
    services.check_role(role)
    with transaction.atomic():  # a refused role leaves no account without one behind
        user, password = services.do_create_user(
            payload.username, payload.full_name, email=payload.email, actor=request.user, request=request
        )
        unit = access_role_grant(request.user, user, role, unit, token_of(request))
        services.do_assign_role(user, role, unit, actor=request.user, request=request)
    return Status(
        201, {"user": _user_out(user, request.user, token_of(request)), "one_time_password": password}
    )


@router.post("/users/{user_id}/roles", response={201: GrantOut, **ERROR_RESPONSES}, summary="Gán vai trò")
def assign_role(request: HttpRequest, user_id: int, payload: RoleIn) -> Any:
    user = get_object_or_404(services.visible_users(request.user, token_of(request)), pk=user_id)
    unit = None
    if payload.unit_code:
        unit = access_unit_code(request.user, payload.unit_code, "user.manage", token_of(request))
    unit = access_role_grant(request.user, user, payload.role, unit, token_of(request))
    a = services.do_assign_role(user, payload.role, unit, actor=request.user, request=request)
    return Status(201, {"id": a.pk, "role": a.role, "unit_code": a.unit.code if a.unit else None})


@router.delete("/roles/{assignment_id}", response={204: None, **ERROR_RESPONSES}, summary="Thu hồi vai trò")
def revoke_role(request: HttpRequest, assignment_id: int) -> Any:
    assignment = get_object_or_404(RoleAssignment.objects.select_related("unit", "user"), pk=assignment_id)
    if assignment.unit is None and not is_system_admin(request.user):
        raise ApiError(404, "not_found", "Không tìm thấy đối tượng yêu cầu.")
    access_role_revoke(request.user, assignment, token_of(request))
    services.do_revoke_role(assignment, actor=request.user, request=request)
    return Status(204, None)


@router.get("/tokens", response={200: list[TokenOut], **ERROR_RESPONSES}, summary="Mã truy cập API của tôi")
def list_tokens(request: HttpRequest) -> Any:
    access_anywhere(request.user, "token.manage", token_of(request))
    return [_token_out(t) for t in ApiToken.objects.filter(user_id=request.user.pk).order_by("-created_at")]  # type: ignore[misc]


@router.post(
    "/tokens",
    response={201: NewTokenOut, **ERROR_RESPONSES},
    summary="Tạo mã truy cập API (mã chỉ hiện một lần)",
)
def create_token(request: HttpRequest, payload: TokenIn) -> Any:
    if token_of(request) is not None:
        raise ApiError(
            403, "session_required", "Chỉ tạo được mã truy cập mới từ phiên đăng nhập bảng điều khiển."
        )
    access_anywhere(request.user, "token.manage")
    token, key = services.do_create_token(
        request.user, payload.name, payload.scopes, payload.expires_at, request=request
    )
    return Status(201, {**_token_out(token), "token": key})


@router.delete("/tokens/{token_id}", response={204: None, **ERROR_RESPONSES}, summary="Thu hồi mã truy cập")
def revoke_token(request: HttpRequest, token_id: int) -> Any:
    access_anywhere(request.user, "token.manage", token_of(request))
    token = get_object_or_404(ApiToken, pk=token_id, user_id=request.user.pk)
    services.do_revoke_token(token, actor=request.user, request=request)
    return Status(204, None)
