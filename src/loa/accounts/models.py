"""Users, role assignments on units, and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loa.accounts.roles import TWO_FACTOR_ROLES, Role
from loa.units.models import Unit


class User(AbstractUser):
    full_name = models.CharField(_("họ và tên"), max_length=200, blank=True)
    phone = models.CharField(_("số điện thoại"), max_length=20, blank=True)
    must_change_password = models.BooleanField(_("phải đổi mật khẩu"), default=False)

    class Meta:
        verbose_name = _("người dùng")
        verbose_name_plural = _("người dùng")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def needs_two_factor(self) -> bool:
        if self.is_superuser:
            return True
        return self.role_assignments.filter(role__in=list(TWO_FACTOR_ROLES)).exists()


class RoleAssignment(models.Model):
    """Role R held on unit U (and so on U's whole subtree). System admins hold their role on no unit."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(_("vai trò"), max_length=32, choices=Role.choices)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("đơn vị"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("vai trò được gán")
        verbose_name_plural = _("vai trò được gán")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "unit"], name="role_assignment_unique"),
            models.CheckConstraint(
                condition=models.Q(role=Role.SYSTEM_ADMIN, unit__isnull=True)
                | (~models.Q(role=Role.SYSTEM_ADMIN) & models.Q(unit__isnull=False)),
                name="role_assignment_unit_matches_role",
            ),
        ]

    def __str__(self) -> str:
        where = self.unit.name if self.unit else _("toàn hệ thống")
        return f"{self.get_role_display()} — {where}"


TOKEN_PREFIX = "loa_"  # noqa: S105 - a public prefix, not a secret


class ApiToken(models.Model):
    """A bearer token for API clients. Only its sha256 is stored; the token is shown once at creation.

    A token acts as its user, narrowed to its scopes (a list of actions, or ``*`` for all of the user's).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("tên"), max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("phạm vi"), default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("hết hạn"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mã truy cập API")
        verbose_name_plural = _("mã truy cập API")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def new_key(cls) -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def allows(self, action: str) -> bool:
        return "*" in self.scopes or action in self.scopes
