"""Console pages over every play (:mod:`loa.broadcast.plays`): the commune's plan for today and the next 24 hours,
and the proof of play a person reads — one row per time slot with planned / played / partly / missed and the
reasons, the clusters of a slot by name and thôn on demand, and the CSV with one row per cluster per slot.

Access: ``schedule.view`` on the console's current unit, like the schedules page.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from loa.accounts.access import access_unit
from loa.broadcast import plays
from loa.broadcast.models import Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa.console.current import current_unit
from loa.units.models import Unit

MAX_DAYS = 31
CLUSTERS_SHOWN = 500  # in one expanded slot; the CSV has them all
PLAN_HOURS = 24


def _unit(request: HttpRequest) -> Unit:
    unit = current_unit(request)
    if unit is None:
        raise Http404(_("Chưa chọn đơn vị."))
    return access_unit(request.user, unit, "schedule.view")


def day_range(request: HttpRequest) -> tuple[dt.date, dt.date]:
    """The local days asked for (``since``/``until``, yyyy-mm-dd or dd/mm/yyyy), today by default, ≤ 31 days."""
    today = timezone.now().astimezone(LOCAL_TZ).date()

    def parse(raw: str) -> dt.date | None:
        raw = raw.strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(raw, fmt).date()
            except ValueError:
                continue
        return None

    since = parse(request.GET.get("since", "")) or today
    until = parse(request.GET.get("until", "")) or since
    if since.year < 2000 or until.year > 9000:  # 9999-12-31 + 1 day, or year 1 in UTC, overflow
        since = until = today
    if until < since or (until - since).days >= MAX_DAYS:
        until = since
    return since, until


def _schedule_filter(request: HttpRequest, unit: Unit) -> Schedule | None:
    raw = request.GET.get("schedule", "")
    if not raw.isdecimal():
        return None
    return Schedule.objects.filter(pk=int(raw), unit__path__startswith=unit.path).first()


@login_required
@require_GET
def proof_page(request: HttpRequest) -> HttpResponse:
    unit = _unit(request)
    since, until = day_range(request)
    start, end = plays.local_day_range(since, until)
    schedule = _schedule_filter(request, unit)
    schedule_id = schedule.pk if schedule else None
    if request.GET.get("format") == "csv":
        slots = plays.slots(unit, start, end, schedule_id=schedule_id, detail=True)
        response = HttpResponse(plays.to_csv(unit, slots), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="nhat-ky-phat-{unit.code}-{since}.csv"'
        return response
    slots = plays.slots(unit, start, end, schedule_id=schedule_id, detail=False)
    context = {
        "unit": unit,
        "slots": slots,
        "totals": plays.totals(slots),
        "since": since,
        "until": until,
        "multiday": since != until,
        "schedule": schedule,
        "schedules": Schedule.objects.filter(unit__path__startswith=unit.path).order_by("-created_at")
        .only("pk", "title")[:100],
    }  # fmt: skip
    return render(request, "broadcast/proof.html", context)


@login_required
@require_GET
def proof_slot(request: HttpRequest) -> HttpResponse:
    """The clusters of one slot by name and thôn (what the expand of a proof row loads)."""
    unit = _unit(request)
    key = request.GET.get("key", "")[:120]
    since, until = day_range(request)
    start, end = plays.local_day_range(since, until)
    found = plays.slots(unit, start, end, key=key, detail=True)
    if not found:
        raise Http404(_("Không tìm thấy lượt phát này."))
    slot = found[0]
    order = {"missed": 0, "partly": 1, "pending": 2, "played": 3}
    results = sorted(slot.clusters, key=lambda r: (order.get(r.status, 9), r.device_id))[:CLUSTERS_SHOWN]
    names = plays.clusters_of(unit, [r.device_id for r in results])
    rows = [(r, names.get(r.device_id) or plays.Cluster(r.device_id, r.device_id, "", "")) for r in results]
    rows.sort(key=lambda rc: (order.get(rc[0].status, 9), rc[1].zone, rc[1].name))
    context = {"slot": slot, "rows": rows, "more": len(slot.clusters) - len(results), "since": since}
    template = "broadcast/_slot_clusters.html" if request.headers.get("HX-Request") else "broadcast/slot.html"
    return render(request, template, context | {"unit": unit})


@login_required
@require_GET
def plan_page(request: HttpRequest) -> HttpResponse:
    """Today and the next 24 hours: what played (with its results) and what will play, whoever started it."""
    unit = _unit(request)
    now = timezone.now()
    today = now.astimezone(LOCAL_TZ).date()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=LOCAL_TZ)
    slots = plays.slots(unit, start, now + dt.timedelta(hours=PLAN_HOURS), now=now, detail=False)
    context = {"unit": unit, "slots": slots, "totals": plays.totals(slots), "now": now, "today": today}
    return render(request, "broadcast/plan.html", context)
