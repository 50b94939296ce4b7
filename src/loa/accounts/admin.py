from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from loa.accounts.models import ApiToken, RoleAssignment, User
from loa.console.admin_site import AuditedModelAdmin


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    raw_id_fields = ("unit", "granted_by")
    extra = 0


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    inlines = [RoleInline]
    list_display = ("username", "full_name", "is_active", "is_staff", "must_change_password")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Loa", {"fields": ("full_name", "phone", "must_change_password")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "last_used_at")
