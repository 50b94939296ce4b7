from django.contrib import admin

from loa.console.admin_site import AuditedModelAdmin
from loa.units.models import LegacyUnit, Unit, UnitSetting


@admin.register(Unit)
class UnitAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind", "level", "is_active")
    list_filter = ("level", "kind", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("path",)
    raw_id_fields = ("parent",)


@admin.register(LegacyUnit)
class LegacyUnitAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "level", "new_unit")
    search_fields = ("code", "name")
    raw_id_fields = ("new_unit",)


@admin.register(UnitSetting)
class UnitSettingAdmin(AuditedModelAdmin):
    list_display = ("unit", "key", "value", "updated_at")
    raw_id_fields = ("unit",)
