"""The KPIs, each defined once: key, Vietnamese name (the gettext msgid; English from the catalogue), formula, unit
of measure, group (a sheet of the monthly report) and how it is computed. docs/analytics.md lists them.

Most are sums of :class:`~loa.analytics.models.DailyStat` rows over the unit's subtree and the period, so a
province's figure is computed from the same rows as its communes'. Three read raw rows because a sum of daily
figures would be wrong: devices installed (a state at the end of the period), online now (a state), and the
emergency reach percentiles (a percentile of daily percentiles is not the percentile).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Case, CharField, Count, IntegerField, Q, Sum, When
from django.db.models import Value as Const
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from loa.analytics.models import DailyStat, UnitDailyStat
from loa.analytics.rollup import day_bounds
from loa.broadcast.models import Emergency
from loa.broadcast.recurrence import LOCAL_TZ
from loa.content.models import ContentType, FeedItem, Field, Priority
from loa.fleet.models import Command, CommandDelivery, Device, DeviceKind
from loa.labels import label
from loa.units.models import Kind, Level, Unit

Value = float | dict[str, float] | None


AGE_BUCKETS = ((365, _("dưới 1 năm")), (3 * 365, _("1–3 năm")), (5 * 365, _("3–5 năm")))
AGE_UNKNOWN = -1  # no installation date and no enrolment


@dataclass
class Period:
    """The unit and the Vietnamese days ``first``…``last`` (inclusive) the figures are about."""

    unit: Unit
    first: dt.date
    last: dt.date
    now: dt.datetime | None = None
    _cache: dict[str, object] = field(default_factory=dict)

    @property
    def since(self) -> dt.datetime:
        return day_bounds(self.first)[0]

    @property
    def until(self) -> dt.datetime:
        return day_bounds(self.last)[1]

    @cached_property
    def totals(self) -> dict[tuple[str, str], float]:
        """(metric, key) → the sum over the subtree and the period (one grouped query)."""
        rows = (
            UnitDailyStat.objects.filter(
                unit__path__startswith=self.unit.path, day__gte=self.first, day__lte=self.last
            )
            .order_by()
            .values_list("metric", "key")
            .annotate(v=Sum("value"))
        )
        return {(m, k): float(v or 0.0) for m, k, v in rows}

    def total(self, metric: str, key: str = "") -> float:
        return self.totals.get((metric, key), 0.0)

    def by_key(self, metric: str) -> dict[str, float]:
        return {k: v for (m, k), v in sorted(self.totals.items()) if m == metric}

    @cached_property
    def installed(self) -> list[tuple[str, int, str, str, str, int]]:
        """The devices installed at the end of the period counted by (vendor, age bucket, warranty, kind, unit path):
        one grouped query for all the inventory and target KPIs (a province's 3,000 rows were read and judged in
        Python on every dashboard view before; ~60 groups now)."""
        end = self.last
        age_cases = []
        for i, (days, _name) in enumerate(AGE_BUCKETS):
            # age < days ⟺ start ≥ end − days + 1; start: installed_on, else the Vietnamese day of the enrolment
            since = end - dt.timedelta(days=days - 1)
            started = Q(installed_on__gte=since) | Q(
                installed_on__isnull=True, enrolled_at__gte=day_bounds(since)[0]
            )
            age_cases.append(When(started, then=Const(i)))
        age = Case(
            When(installed_on__isnull=True, enrolled_at__isnull=True, then=Const(AGE_UNKNOWN)),
            *age_cases,
            default=Const(len(AGE_BUCKETS)),
            output_field=IntegerField(),
        )
        warranty = Case(
            When(warranty_until__isnull=True, then=Const("none")),
            When(warranty_until__gte=end, then=Const("valid")),
            default=Const("expired"),
            output_field=CharField(),
        )
        return list(
            _installed_devices(self)
            .order_by()
            .annotate(age=age, warranty=warranty)
            .values_list("vendor", "age", "warranty", "kind", "unit__path")
            .annotate(n=Count("id"))
        )

    @cached_property
    def local_targets(self) -> dict[str, float]:
        """The province's own targets (unit settings of the target KPIs' keys, set by the province and audited),
        shown beside the national ones; a commune or zone sees its province's."""
        from loa.units.models import UnitSetting
        from loa.units.services import TARGET_KEYS, target_value

        out = {}
        settings = UnitSetting.objects.filter(unit=self.unit.province, key__in=TARGET_KEYS)
        for key, value in settings.values_list("key", "value"):
            if (number := target_value(value)) is not None:
                out[key] = number
        return out

    @cached_property
    def feedback(self) -> Any:
        """The citizens' feedback about places in the unit received in the period (:mod:`loa.citizen.feedback_stats`,
        the figures the public statistics page shows): read from the rows, because a feedback received in the period
        is handled later and a daily rollup of its state would go stale."""
        from loa.citizen.feedback_stats import figures

        return figures(self.unit, self.since, self.until)

    @cached_property
    def installed_paths(self) -> dict[str, set[str]]:
        """Device kind → the unit paths holding an installed device of that kind (one pass for the targets)."""
        out: dict[str, set[str]] = defaultdict(set)
        for *_first, kind, path, _n in self.installed:
            out[str(kind)].add(path)
        return out

    @cached_property
    def reach_times(self) -> tuple[list[float], int]:
        """Seconds from each emergency's request to each cluster's receipt, and the number of deliveries."""
        commands = list(
            Emergency.objects.filter(
                unit__path__startswith=self.unit.path,
                requested_at__gte=self.since,
                requested_at__lt=self.until,
                command_id__isnull=False,
            ).values_list("command_id", "requested_at")
        )
        requested = {c: r for c, r in commands}
        times: list[float] = []
        total = 0
        for cmd, acked in CommandDelivery.objects.filter(command_id__in=list(requested)).values_list(
            "command_id", "acked_at"
        ):
            total += 1
            if acked is not None:
                times.append(max(0.0, (acked - requested[cmd]).total_seconds()))
        return sorted(times), total


def ratio(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return round(values[max(0, math.ceil(p / 100.0 * len(values)) - 1)], 3)


def labelled(values: dict[str, float], words: Callable[[str], str]) -> dict[str, float]:
    return {words(k): v for k, v in values.items()}


def _choice(choices: type[Field] | type[ContentType] | type[Priority]) -> Callable[[str], str]:
    names = {str(v): str(lbl) for v, lbl in choices.choices}
    return lambda k: names.get(k, k)


def _installed(p: Period) -> float:
    """Loudspeaker clusters only: the KPI says "cụm loa" (boards are counted in the inventory KPIs)."""
    return float(sum(n for *_rest, kind, _path, n in p.installed if kind == DeviceKind.LOUDSPEAKER))


def _online_now(p: Period) -> float | None:
    n = (
        Device.objects.in_unit(p.unit)
        .active()
        .filter(kind=DeviceKind.LOUDSPEAKER)
        .aggregate(all=Count("id"), on=Count("id", filter=Q(online=True)))
    )
    return ratio(n["on"], n["all"])


def _installed_devices(p: Period) -> Any:
    devices = Device.objects.in_unit(p.unit).filter(
        Q(enrolled_at__lt=p.until) | Q(enrolled_at__isnull=True, created_at__lt=p.until)
    )
    return devices.filter(Q(revoked_at__isnull=True) | Q(revoked_at__gte=p.until))


# The inventory KPIs count the installed devices (3,000 in a province) by a code first and translate each name once:
# a lazy name made a string per device was ~40 % of the province dashboard's time (docs/benchmarks.md).


def _by_vendor(p: Period) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    for vendor, *_rest, n in p.installed:
        counts[vendor.strip()] += n
    if "" in counts:
        counts[str(_("chưa ghi hãng"))] += counts.pop("")
    return dict(sorted(counts.items()))


def _by_age(p: Period) -> dict[str, float]:
    """Age at the end of the period, from the installation date (else the enrolment): buckets of
    :attr:`Period.installed`."""
    counts = [0.0] * (len(AGE_BUCKETS) + 1)  # the buckets, then "from 5 years"
    unknown = 0.0
    for _vendor, age, *_rest, n in p.installed:
        if age == AGE_UNKNOWN:
            unknown += n
        else:
            counts[age] += n
    names = [str(n) for _d, n in AGE_BUCKETS] + [str(_("từ 5 năm"))]
    out = {name: n for name, n in zip(names, counts, strict=True) if n}
    if unknown:
        out[str(_("chưa rõ ngày lắp"))] = unknown
    return out


def _warranty(p: Period) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    for _vendor, _age, warranty, _kind, _path, n in p.installed:
        counts[warranty] += n
    names = {"valid": _("còn bảo hành"), "expired": _("hết bảo hành"), "none": _("chưa ghi hạn bảo hành")}
    return {str(name): counts[k] for k, name in names.items() if counts[k]}


EXPIRY_WHAT = {"sim": _("SIM"), "plan": _("Gói cước")}
EXPIRY_DAYS = (0, 30, 60, 90)  # 0: already expired; N: from today to N days ahead (so 60 includes 30)


def expiry_label(what: str, days: int) -> str:
    name = str(EXPIRY_WHAT[what])
    if days == 0:
        return str(_("%(what)s đã hết hạn") % {"what": name})
    return str(_("%(what)s hết hạn trong %(days)s ngày tới") % {"what": name, "days": days})


def expiry_buckets(expires: dt.date, today: dt.date) -> list[int]:
    """The buckets of :data:`EXPIRY_DAYS` an expiry date falls in (cumulative: within 30 days is within 60)."""
    left = (expires - today).days
    return [0] if left < 0 else [d for d in EXPIRY_DAYS if d and left <= d]


def _expiring(p: Period) -> dict[str, float]:
    """SIM cards and data plans (gói cước) of the active clusters by expiry from today (a state, not of the period):
    already expired, and expiring within the next 30, 60 and 90 days."""
    today = (p.now or timezone.now()).astimezone(LOCAL_TZ).date()
    counts: dict[tuple[str, int], float] = defaultdict(float)
    # counted by the database: a state of the day, one query (not the province's 3,000 devices)
    for sim, plan, n in (
        Device.objects.in_unit(p.unit)
        .active()
        .filter(Q(sim_expires__lte=today + dt.timedelta(days=EXPIRY_DAYS[-1]))
                | Q(data_plan_expires__lte=today + dt.timedelta(days=EXPIRY_DAYS[-1])))
        .order_by()
        .values_list("sim_expires", "data_plan_expires")
        .annotate(n=Count("id"))
    ):  # fmt: skip
        for what, expires in (("sim", sim), ("plan", plan)):
            if expires is not None:
                for days in expiry_buckets(expires, today):
                    counts[(what, days)] += n
    return {expiry_label(w, d): counts[(w, d)] for w in EXPIRY_WHAT for d in EXPIRY_DAYS if counts[(w, d)]}


RELAYED = (FeedItem.State.TAKEN, FeedItem.State.QUEUED, FeedItem.State.INSERTED, FeedItem.State.HANDED_OFF)


def _relayed_share(p: Period) -> float | None:
    """Province bulletins sent down to the communes of the unit in the period, and of them those the commune took
    (by hand, queued for automatic insertion, or handed to an emergency broadcast); withdrawn ones do not count."""
    items = FeedItem.objects.filter(
        direction=FeedItem.Direction.DOWN,
        unit__path__startswith=p.unit.path,
        unit__level=Level.COMMUNE,
        created_at__gte=p.since,
        created_at__lt=p.until,
    ).exclude(state=FeedItem.State.WITHDRAWN)
    return ratio(items.filter(state__in=RELAYED).count(), items.count())


def _communes_with(
    p: Period, kinds: tuple[str, ...], device_kind: str, *, loudspeaker: bool = False
) -> float | None:
    """Share of the unit's communes (of the given kinds) with at least one installed device of the kind."""
    communes = Unit.objects.filter(
        path__startswith=p.unit.path, level=Level.COMMUNE, is_active=True, kind__in=kinds
    )
    by_kind = p.installed_paths
    paths = set().union(
        *(v for k, v in by_kind.items() if (k != DeviceKind.EBOARD if loudspeaker else k == device_kind))
    )
    total = with_device = 0
    for path in communes.values_list("path", flat=True):
        total += 1
        with_device += any(d.startswith(path) for d in paths)
    return ratio(with_device, total)


ALL_COMMUNES = (Kind.XA, Kind.PHUONG, Kind.DAC_KHU)


@dataclass(frozen=True)
class Kpi:
    key: str
    name: Promise
    formula: Promise
    unit: Promise
    group: str  # devices, broadcast, bulletins, emergency, feedback, targets
    compute: Callable[[Period], Value]
    target: float | None = None  # a national target (regulations.md §2.4), shown as a progress bar


KPIS: list[Kpi] = [
    Kpi("devices_installed", _("Số cụm loa đã lắp đặt"),
        _("Cụm loa đã đăng ký trước cuối kỳ và chưa thu hồi tại cuối kỳ"), _("cụm"), "devices", _installed),
    Kpi("devices_online_now", _("Tỷ lệ cụm loa đang trực tuyến"),
        _("Cụm loa trực tuyến lúc xem ÷ cụm loa đang hoạt động × 100 (trạng thái hiện tại, không theo kỳ)"),
        _("%"), "devices", _online_now),
    Kpi("availability", _("Tỷ lệ sẵn sàng hoạt động"),
        _("Cụm loa: (1 − giây có cảnh báo mất kết nối ÷ giây đã đăng ký trong kỳ) × 100 (không tính bảng tin điện tử)"), _("%"), "devices",
        lambda p: None if not (e := p.total("expected_s")) else round(100.0 * (1 - p.total("offline_s") / e), 2)),
    Kpi("plays_planned", _("Số lượt phát theo lịch"),
        _("Số mục lịch phát đã giao cho từng cụm loa trong kỳ (theo lịch phát đang hiệu lực)"), _("lượt"),
        "broadcast", lambda p: p.total("planned")),
    Kpi("plays_played", _("Số lượt đã phát"), _("Lượt phát theo lịch được nghe ≥ 95 % thời lượng"), _("lượt"),
        "broadcast", lambda p: p.total("played")),
    Kpi("plays_success", _("Tỷ lệ phát thành công"),
        _("Lượt đã phát ÷ (lượt theo lịch − lượt chưa tới giờ) × 100"), _("%"), "broadcast",
        lambda p: ratio(p.total("played"), p.total("planned") - p.total("pending"))),
    Kpi("airtime_planned_h", _("Thời lượng phát theo lịch"), _("Tổng thời lượng các lượt phát theo lịch ÷ 3600"),
        _("giờ"), "broadcast", lambda p: round(p.total("planned_s") / 3600.0, 3)),
    Kpi("airtime_played_h", _("Thời lượng đã phát theo lịch"),
        _("Tổng số giây đã nghe của các lượt phát theo lịch (không quá thời lượng lượt) ÷ 3600"), _("giờ"),
        "broadcast", lambda p: round(p.total("played_s") / 3600.0, 3)),
    Kpi("airtime_ratio", _("Tỷ lệ thời lượng thực phát so với kế hoạch"),
        _("Thời lượng đã phát theo lịch ÷ thời lượng phát theo lịch × 100"), _("%"), "broadcast",
        lambda p: ratio(p.total("played_s"), p.total("planned_s"))),
    Kpi("airtime_total_h", _("Tổng thời lượng phát"),
        _("Mọi số giây đã nghe theo nhật ký phát (theo lịch, phát ngay, khẩn cấp) ÷ 3600"), _("giờ"),
        "broadcast", lambda p: round(p.total("airtime_s") / 3600.0, 3)),
    Kpi("plays_missed_by_reason", _("Lượt không phát theo lý do"),
        _("Lượt phát theo lịch không được nghe chút nào, đếm theo lý do"), _("lượt"), "broadcast",
        lambda p: labelled(p.by_key("missed"), lambda k: label(k, "reason"))),
    Kpi("bulletins_published", _("Số bản tin đã phát hành"),
        _("Bản tin (mỗi phiên bản) phát hành trong kỳ, theo địa bàn tạo"), _("bản tin"), "bulletins",
        lambda p: p.total("bulletins")),
    Kpi("bulletins_by_field", _("Bản tin theo lĩnh vực"), _("Bản tin phát hành trong kỳ, đếm theo lĩnh vực"),
        _("bản tin"), "bulletins", lambda p: labelled(p.by_key("bulletins.field"), _choice(Field))),
    Kpi("bulletins_by_type", _("Bản tin theo loại"), _("Bản tin phát hành trong kỳ, đếm theo loại nội dung"),
        _("bản tin"), "bulletins", lambda p: labelled(p.by_key("bulletins.type"), _choice(ContentType))),
    Kpi("bulletins_by_priority", _("Bản tin theo mức độ ưu tiên"),
        _("Bản tin phát hành trong kỳ, đếm theo mức độ ưu tiên"), _("bản tin"), "bulletins",
        lambda p: labelled(p.by_key("bulletins.priority"), _choice(Priority))),
    Kpi("commands_by_action", _("Lệnh điều khiển theo loại"), _("Lệnh gửi tới cụm loa trong kỳ, đếm theo lệnh"),
        _("lệnh"), "devices",
        lambda p: labelled(p.by_key("commands"), lambda k: str(dict(Command.Action.choices).get(k, k)))),
    Kpi("emergency_reach_p50_s", _("Thời gian tới cụm loa của lệnh khẩn cấp (trung vị)"),
        _("Trung vị của (lúc cụm loa xác nhận nhận lệnh − lúc yêu cầu phát khẩn cấp)"), _("giây"), "emergency",
        lambda p: percentile(p.reach_times[0], 50)),
    Kpi("emergency_reach_p99_s", _("Thời gian tới cụm loa của lệnh khẩn cấp (phân vị 99)"),
        _("Phân vị 99 của (lúc cụm loa xác nhận nhận lệnh − lúc yêu cầu phát khẩn cấp)"), _("giây"), "emergency",
        lambda p: percentile(p.reach_times[0], 99)),
    Kpi("emergency_reach_ratio", _("Tỷ lệ cụm loa nhận lệnh khẩn cấp"),
        _("Cụm loa đã xác nhận nhận lệnh ÷ cụm loa được gửi lệnh × 100"), _("%"), "emergency",
        lambda p: ratio(len(p.reach_times[0]), p.reach_times[1])),
    Kpi("devices_by_vendor", _("Thiết bị theo hãng"), _("Thiết bị đã lắp đặt tại cuối kỳ, đếm theo hãng"),
        _("thiết bị"), "devices", _by_vendor),
    Kpi("devices_by_age", _("Thiết bị theo tuổi"),
        _("Thiết bị đã lắp đặt tại cuối kỳ, theo thời gian từ ngày lắp (không có: ngày đăng ký) tới cuối kỳ"),
        _("thiết bị"), "devices", _by_age),
    Kpi("devices_by_warranty", _("Thiết bị theo bảo hành"),
        _("Thiết bị đã lắp đặt tại cuối kỳ: còn bảo hành tới cuối kỳ, hết bảo hành, chưa ghi hạn"), _("thiết bị"),
        "devices", _warranty),
    Kpi("data_plans_expiring", _("SIM và gói cước dữ liệu sắp hết hạn"),
        _("Cụm loa đang hoạt động có ghi hạn SIM, hạn gói cước: đã hết hạn (trước hôm nay), hết hạn từ hôm nay tới "
          "30, 60, 90 ngày tới (cộng dồn: trong 60 ngày gồm cả trong 30 ngày), đếm riêng SIM và gói cước (trạng "
          "thái hiện tại, không theo kỳ)"), _("thiết bị"), "devices", _expiring),
    Kpi("bulletins_relayed_share", _("Tỷ lệ bản tin tỉnh được xã tiếp sóng"),
        _("Bản tin tỉnh gửi xuống xã trong kỳ được xã nhận (nhận, chờ chèn tự động, đã chèn tự động, chuyển phát khẩn cấp) ÷ bản "
          "tin tỉnh gửi xuống xã trong kỳ (trừ bản tin đã thu hồi) × 100"), _("%"), "bulletins", _relayed_share),
    Kpi("feedback_received", _("Số phản ánh, kiến nghị đã nhận"),
        _("Phản ánh, kiến nghị của người dân về nơi thuộc địa bàn, gửi trong kỳ"), _("phản ánh"), "feedback",
        lambda p: float(p.feedback.received)),
    Kpi("feedback_handled", _("Số phản ánh đã xử lý"),
        _("Phản ánh gửi trong kỳ đã có trả lời (đã trả lời, đã công khai, đã đóng, đóng không xử lý được)"),
        _("phản ánh"), "feedback", lambda p: float(p.feedback.processed)),
    Kpi("feedback_handled_share", _("Tỷ lệ phản ánh đã xử lý"),
        _("Phản ánh đã xử lý ÷ phản ánh đã nhận trong kỳ × 100"), _("%"), "feedback",
        lambda p: ratio(p.feedback.processed, p.feedback.received)),
    Kpi("feedback_on_time", _("Tỷ lệ phản ánh xử lý đúng hạn"),
        _("Phản ánh đã xử lý có trả lời không muộn hơn hạn xử lý (giờ làm việc của lĩnh vực theo lịch làm việc của "
          "địa phương) và không bị chuyển lên cấp trên vì quá hạn ÷ phản ánh đã xử lý × 100"), _("%"), "feedback",
        lambda p: ratio(p.feedback.on_time, p.feedback.processed)),
    Kpi("feedback_satisfaction", _("Tỷ lệ người dân hài lòng với trả lời"),
        _("Đánh giá 4 hoặc 5 sao ÷ số phản ánh được người dân đánh giá × 100"), _("%"), "feedback",
        lambda p: ratio(p.feedback.satisfied, p.feedback.rated)),
    Kpi("target_communes_with_radio", _("Xã, phường có đài truyền thanh ứng dụng CNTT-VT"),
        _("Xã, phường, đặc khu có ít nhất một cụm loa đã lắp đặt tại cuối kỳ ÷ số xã, phường, đặc khu × 100 "
          "(mục tiêu 2025: 100 % xã có truyền thanh tới thôn; 70 % đài chuyển sang CNTT-VT)"), _("%"), "targets",
        lambda p: _communes_with(p, ALL_COMMUNES, "", loudspeaker=True), target=100.0),
    Kpi("target_eboards_wards", _("Phường có bảng tin điện tử công cộng"),
        _("Phường có ít nhất một bảng tin điện tử đã lắp đặt tại cuối kỳ ÷ số phường × 100 (mục tiêu 2025: 100 %)"),
        _("%"), "targets", lambda p: _communes_with(p, (Kind.PHUONG,), DeviceKind.EBOARD), target=100.0),
    Kpi("target_eboards_communes", _("Xã có bảng tin điện tử công cộng"),
        _("Xã, đặc khu có ít nhất một bảng tin điện tử đã lắp đặt tại cuối kỳ ÷ số xã, đặc khu × 100 "
          "(mục tiêu 2025: 70 %)"), _("%"), "targets",
        lambda p: _communes_with(p, (Kind.XA, Kind.DAC_KHU), DeviceKind.EBOARD), target=70.0),
]  # fmt: skip
BY_KEY = {k.key: k for k in KPIS}
GROUPS: dict[str, Promise] = {
    "devices": _("Thiết bị"),
    "broadcast": _("Phát thanh"),
    "bulletins": _("Bản tin"),
    "emergency": _("Phát khẩn cấp"),
    "feedback": _("Phản ánh, kiến nghị"),
    "targets": _("Mục tiêu quốc gia"),
}


def compute(period: Period) -> list[tuple[Kpi, Value]]:
    return [(k, k.compute(period)) for k in KPIS]


# ---- drill-down: the figures of each child unit (or each cluster of a commune) ----

DRILL_METRICS = (
    "planned",
    "played",
    "pending",
    "planned_s",
    "played_s",
    "airtime_s",
    "expected_s",
    "offline_s",
)


@dataclass
class DrillRow:
    code: str  # unit code, or device id
    name: str
    is_device: bool
    devices: int = 0
    sums: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def availability(self) -> float | None:
        e = self.sums["expected_s"]
        return round(100.0 * (1 - self.sums["offline_s"] / e), 2) if e else None

    @property
    def success(self) -> float | None:
        return ratio(self.sums["played"], self.sums["planned"] - self.sums["pending"])

    def cells(self) -> list[object]:
        s = self.sums
        return [self.code, self.name, self.devices, self.availability, int(s["planned"]), int(s["played"]),
                self.success, round(s["planned_s"] / 3600, 3), round(s["played_s"] / 3600, 3),
                round(s["airtime_s"] / 3600, 3), None if self.is_device else int(s["bulletins"])]  # fmt: skip


DRILL_HEADER = [
    _("Mã"), _("Tên"), _("Số cụm loa"), _("Tỷ lệ sẵn sàng (%)"), _("Lượt theo lịch"), _("Lượt đã phát"),
    _("Tỷ lệ phát thành công (%)"), _("Giờ phát theo lịch"), _("Giờ đã phát theo lịch"), _("Tổng giờ phát"),
    _("Bản tin đã phát hành (theo địa bàn tạo)"),
]  # fmt: skip


def drill_down(period: Period) -> list[DrillRow]:
    """Province → commune → zone → cluster: one row per active child unit (with the bulletins it originated), then
    one per cluster hung on the unit itself (a commune's clusters outside any zone, a zone's clusters). Clusters
    are loudspeakers: the table counts and lists no board (its figures are plays and airtime)."""
    unit = period.unit
    metrics = (*DRILL_METRICS, "bulletins")
    period_days = {"day__gte": period.first, "day__lte": period.last, "metric__in": metrics}
    # the child units from the per-unit rollup; the clusters hung on the unit itself from the per-device one
    child_stats = (
        UnitDailyStat.objects.filter(unit__path__startswith=unit.path, **period_days)
        .exclude(unit=unit)
        .order_by()
        .values_list("unit__path", "metric")
        .annotate(v=Sum("value"))
    )
    own_stats = (
        DailyStat.objects.filter(unit=unit, **period_days)
        .exclude(device_id="")
        .order_by()
        .values_list("device_id", "metric")
        .annotate(v=Sum("value"))
    )
    children = {
        c.code: DrillRow(c.code, c.name, False) for c in unit.children.filter(is_active=True).order_by("name")
    }

    def child(path: str) -> DrillRow | None:
        """The row of the child unit ``path`` lies in (paths are ``…/<code>/``)."""
        return children.get(path[len(unit.path) :].split("/", 1)[0]) if path != unit.path else None

    # the clusters of each child unit counted by the database (a province's 3,000 were read one by one before)
    for path, n in (
        Device.objects.in_unit(unit)
        .active()
        .filter(kind=DeviceKind.LOUDSPEAKER)
        .exclude(unit=unit)
        .order_by()
        .values_list("unit__path")
        .annotate(n=Count("id"))
    ):
        if (r := child(path)) is not None:
            r.devices += n
    own = {
        device_id: DrillRow(device_id, name or device_id, True, devices=1)
        for device_id, name in Device.objects.filter(unit=unit, kind=DeviceKind.LOUDSPEAKER)
        .active()
        .order_by("device_id")
        .values_list("device_id", "name")
    }
    for path, metric, v in child_stats:
        if (r := child(path)) is not None:
            r.sums[metric] += float(v or 0.0)
    for dev, metric, v in own_stats:
        if (r := own.get(dev)) is not None:
            r.sums[metric] += float(v or 0.0)
    return [*children.values(), *own.values()]
