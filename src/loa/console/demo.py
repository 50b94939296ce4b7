"""Seeding the demo province: its real communes, a few zones, and one user per role with one-time passwords."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from loa.accounts.models import RoleAssignment
from loa.accounts.roles import Role
from loa.accounts.services import one_time_password
from loa.audit.log import record
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
    communes = list(province.children.filter(level=Level.COMMUNE).order_by("code")[:2])
    commune_a, commune_b = communes[0], communes[1]
    with transaction.atomic():
        for commune in (commune_a, commune_b):
            if not commune.children.exists():
                for name, kind in DEMO_ZONES[:3]:
                    do_create_zone(commune, name, kind, actor=None)
        people = [
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
        record(
            "demo.seeded",
            unit=province,
            message=f"Tạo dữ liệu trình diễn cho {province.name}",
            data={"users": [p[0] for p in people]},
        )
    return province, logins
