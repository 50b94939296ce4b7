from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from loa.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is never edited, not even by a system admin."""

    list_display = ("id", "at", "actor_label", "action", "unit_code", "message")
    list_filter = ("action",)
    search_fields = ("actor_label", "action", "unit_code", "message")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
