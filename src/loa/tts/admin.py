from django.contrib import admin

from loa.console.admin_site import AuditedModelAdmin
from loa.tts.models import Abbreviation, SpeechClip


@admin.register(Abbreviation)
class AbbreviationAdmin(AuditedModelAdmin):
    list_display = ("text", "reading", "active", "updated_at")
    list_filter = ("active",)
    list_editable = ("reading", "active")
    search_fields = ("text", "reading")


@admin.register(SpeechClip)
class SpeechClipAdmin(AuditedModelAdmin):
    list_display = ("created_at", "unit", "voice", "speed", "duration_s", "created_by")
    list_filter = ("voice", "engine")
    search_fields = ("text", "read_as", "sha256")
    raw_id_fields = ("unit", "created_by")
    readonly_fields = ("sha256", "path", "duration_s", "loudness_lufs", "engine", "created_at")
