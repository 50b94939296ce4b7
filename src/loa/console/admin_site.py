"""Django admin, for system admins only (signed in with two-factor); every change made there is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class LoaAdminSite(admin.AdminSite):
    site_header = "Quản trị Loa"
    site_title = "Quản trị Loa"
    index_title = "Quản trị hệ thống"

    def has_permission(self, request: HttpRequest) -> bool:
        from loa.accounts.access import is_system_admin

        user: Any = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and user.is_staff
            and is_system_admin(user)
            and user.is_verified()
        )


class LoaAdminConfig(AdminConfig):
    default_site = "loa.console.admin_site.LoaAdminSite"


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose additions, changes and deletions also go to Loa's audit log."""

    def _audit(self, request: HttpRequest, obj: Any, verb: str, detail: Any = None) -> None:
        from loa.audit.log import record

        record(
            f"admin.{verb}",
            request=request,
            object_type=obj._meta.label_lower,
            object_id=obj.pk,
            unit=obj if obj._meta.label_lower == "units.unit" else getattr(obj, "unit", None),
            message=f"Quản trị: {verb} {obj._meta.verbose_name} {obj}",
            data={"change": str(detail or "")},
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "add", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "change", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self._audit(request, obj, "delete")
        return super().log_deletions(request, queryset)
