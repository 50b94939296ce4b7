"""Seeding the demo province: its real communes, a few zones, and one user per role with one-time passwords.

Optionally a second province on the same instance (the "thuê dịch vụ" model: one provider runs Loa for several
provinces), with its own admin, editor, approver and commune operator and zones in its first commune; nobody of one
province holds any role in the other (docs/security.md, tests/loa/test_permission_matrix.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from loa.accounts.models import RoleAssignment
from loa.accounts.roles import Role
from loa.accounts.services import one_time_password
from loa.audit.log import record
from loa.citizen.polls.demo import seed_demo_poll
from loa.content.demo import seed_demo_bulletins
from loa.signage.demo import seed_demo_boards
from loa.units.catalogue import do_import_units
from loa.units.models import Kind, Level, Unit
from loa.units.services import do_create_zone

DEMO_ZONES = [
    ("Thôn 1", Kind.THON),
    ("Thôn 2", Kind.THON),
    ("Bản Khe Lánh", Kind.BAN),
    ("Tổ dân phố 3", Kind.TO_DAN_PHO),
]


@dataclass
class DemoLogin:
    username: str
    role: str
    unit: str
    password: str
    two_factor: bool


def do_seed_demo(province_code: str) -> tuple[Unit, list[DemoLogin]]:
    do_import_units()
    province = Unit.objects.filter(code=province_code, level=Level.PROVINCE).first()
    if province is None:
        raise ValueError(f"Không có tỉnh mã {province_code}.")
    # the three communes the demo fleet covers (loa.fleet.demo), each with zones for its clusters
    communes = list(province.children.filter(level=Level.COMMUNE).order_by("code")[:3])
    commune_a, commune_b = communes[0], communes[1]
    with transaction.atomic():
        for commune in communes:
            if not commune.children.exists():
                for name, kind in DEMO_ZONES[:3]:
                    do_create_zone(commune, name, kind, actor=None)
        people: list[tuple[str, str, Unit | None, str]] = [
            ("quantri", Role.SYSTEM_ADMIN, None, "Quản trị hệ thống"),
            ("tinh.quantri", Role.PROVINCE_ADMIN, province, "Quản trị tỉnh"),
            ("tinh.bientap", Role.EDITOR, province, "Biên tập viên tỉnh"),
            ("tinh.duyet", Role.APPROVER, province, "Lãnh đạo duyệt tin tỉnh"),
            ("xa.vanhanh", Role.COMMUNE_OPERATOR, commune_a, f"Cán bộ đài {commune_a.name}"),
            ("xa.duyet", Role.APPROVER, commune_a, f"Chủ tịch UBND {commune_a.name}"),
            ("xa2.vanhanh", Role.COMMUNE_OPERATOR, commune_b, f"Cán bộ đài {commune_b.name}"),
            ("kythuat", Role.TECHNICIAN, province, "Kỹ thuật viên"),
            ("kiemtoan", Role.AUDITOR, province, "Kiểm toán viên"),
            ("xem", Role.VIEWER, commune_a, "Người xem"),
        ]
        logins = _seed_people(people)
        seed_demo_poll(commune_a, get_user_model().objects.filter(username="xa.vanhanh").first())
        users = get_user_model().objects
        seed_demo_boards(
            province,
            communes,
            author=users.filter(username="tinh.bientap").first(),
            approver=users.filter(username="tinh.duyet").first(),
        )
        seed_demo_bulletins(
            province,
            communes,
            province_editor=users.filter(username="tinh.bientap").first(),
            province_approver=users.filter(username="tinh.duyet").first(),
            commune_operator=users.filter(username="xa.vanhanh").first(),
            commune_approver=users.filter(username="xa.duyet").first(),
        )
        record(
            "demo.seeded",
            unit=province,
            message=f"Tạo dữ liệu trình diễn cho {province.name}",
            data={"users": [p[0] for p in people]},
        )
    return province, logins


def _seed_people(people: list[tuple[str, str, Unit | None, str]]) -> list[DemoLogin]:
    """Each person with a new one-time password (to change at first sign-in) and their one role."""
    logins = []
    User = get_user_model()
    for username, role, unit, full_name in people:
        password = one_time_password()
        user, _created = User.objects.get_or_create(username=username, defaults={"full_name": full_name})
        user.full_name = full_name
        user.set_password(password)
        user.must_change_password = True
        user.is_staff = user.is_superuser = role == Role.SYSTEM_ADMIN
        user.save()
        RoleAssignment.objects.get_or_create(user=user, role=role, unit=unit)
        logins.append(
            DemoLogin(
                username,
                str(Role(role).label),
                unit.name if unit else "toàn hệ thống",
                password,
                role in (Role.SYSTEM_ADMIN, Role.PROVINCE_ADMIN, Role.APPROVER),
            )
        )
    return logins


def do_seed_second_province(province_code: str) -> tuple[Unit, list[DemoLogin]]:
    """A second province with people of its own (call after :func:`do_seed_demo`, which imports the units)."""
    province = Unit.objects.filter(code=province_code, level=Level.PROVINCE).first()
    if province is None:
        raise ValueError(f"Không có tỉnh mã {province_code}.")
    commune = province.children.filter(level=Level.COMMUNE).order_by("code").first()
    if commune is None:
        raise ValueError(f"Tỉnh mã {province_code} chưa có xã/phường nào.")
    with transaction.atomic():
        if not commune.children.exists():
            for name, kind in DEMO_ZONES[:2]:
                do_create_zone(commune, name, kind, actor=None)
        people: list[tuple[str, str, Unit | None, str]] = [
            ("tinh2.quantri", Role.PROVINCE_ADMIN, province, f"Quản trị {province.name}"),
            ("tinh2.bientap", Role.EDITOR, province, f"Biên tập viên {province.name}"),
            ("tinh2.duyet", Role.APPROVER, province, f"Lãnh đạo duyệt tin {province.name}"),
            ("xa3.vanhanh", Role.COMMUNE_OPERATOR, commune, f"Cán bộ đài {commune.name}"),
        ]
        logins = _seed_people(people)
        record(
            "demo.seeded",
            unit=province,
            message=f"Tạo dữ liệu trình diễn cho tỉnh thứ hai {province.name}",
            data={"users": [p[0] for p in people]},
        )
    return province, logins
