"""The unit's "Từ viết tắt" page: what the machine reads for an abbreviation in this unit, the entries that come from
above (read-only), a form to add one (with the words that choose its reading), and a "nghe thử" sentence that shows
the reading with the changed words marked and plays it (issue 22)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from loa.accounts.access import access_unit, access_unit_code, can
from loa.console.current import current_unit
from loa.errors import Refusal
from loa.tts import services
from loa.tts.abbreviations import check_abbreviation, do_delete_abbreviation, do_save_abbreviation
from loa.tts.access import ACTION, access_abbreviation
from loa.tts.models import Abbreviation
from loa.tts.normalize import bundled_abbreviations, bundled_context_rules
from loa.tts.spans import reading_spans
from loa.units.models import Unit

EXAMPLE = "BCH Quân sự xã và BCH Đoàn xã họp tại KP 3 lúc 7h30 ngày 22/5; liên hệ ĐT: 0912 345 678."


def _unit(request: HttpRequest) -> Unit:
    code = request.GET.get("unit") or request.POST.get("unit")
    if code:
        return access_unit_code(request.user, code, ACTION)
    return access_unit(request.user, current_unit(request), ACTION)


@login_required
@require_http_methods(["GET", "POST"])
def abbreviations(request: HttpRequest) -> HttpResponse:
    unit = _unit(request)
    form: dict[str, str] = {"text": "", "reading": "", "near": ""}
    error: Refusal | None = None
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            entry = check_abbreviation(form["text"], form["reading"], form["near"])
        except Refusal as refused:
            error = refused
        else:
            do_save_abbreviation(entry, unit=unit, actor=request.user, request=request)
            messages.success(request, _("Đã lưu: %(text)s đọc là “%(reading)s”.") % entry.__dict__)
            return redirect(f"{request.path}?unit={unit.code}")
    sentence = request.GET.get("sentence", EXAMPLE)[:2000]
    reading, spans = "", []
    if sentence.strip():
        try:
            reading = services.normalize(sentence, unit=unit)
            spans = reading_spans(sentence, reading)
        except Refusal as refused:
            messages.error(request, refused.message)
    own = Abbreviation.objects.filter(unit=unit).order_by("text", "near")
    above = (
        Abbreviation.objects.filter(unit__in=[u for u in unit.ancestors() if u.pk != unit.pk], active=True)
        .select_related("unit")
        .order_by("unit__path", "text")
    )
    context: dict[str, Any] = {
        "unit": unit,
        "own": own,
        "above": above,
        "everywhere": Abbreviation.objects.filter(unit__isnull=True, active=True).order_by("text"),
        "bundled_count": len(bundled_abbreviations()),
        "bundled_rules": bundled_context_rules(),
        "form": form,
        "error": error,
        "sentence": sentence,
        "reading": reading,
        "spans": spans,
        "can_preview": can(request.user, unit, "tts.use"),
    }
    return render(request, "tts/abbreviations.html", context, status=400 if error else 200)


@login_required
@require_POST
def abbreviation_delete(request: HttpRequest, abbreviation_id: int) -> HttpResponse:
    row = access_abbreviation(request.user, abbreviation_id)
    unit_code = row.unit.code if row.unit else ""
    do_delete_abbreviation(row, actor=request.user, request=request)
    messages.success(request, _("Đã xóa %(text)s.") % {"text": row.text})
    return redirect(f"/tts/abbreviations/?unit={unit_code}")
