"""Bulletin versions: the snapshot saved at every save, and the differences an approver reviews."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import translation

from loa.content.models import (
    Bulletin,
    BulletinVersion,
    ContentType,
    Field,
    Language,
    Priority,
    State,
)
from loa.content.validation import FIELD_LABELS
from loa.media.models import MediaAsset
from loa.units.models import Unit

# ---- versions ------------------------------------------------------------------------------------------


def snapshot(b: Bulletin) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FIELD_LABELS:
        if name == "receivers":
            out[name] = sorted(b.receivers.values_list("code", flat=True))
            continue
        value = getattr(b, name)
        out[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out


def _save_version(b: Bulletin, actor: Any, substantive: bool) -> BulletinVersion:
    return BulletinVersion.objects.create(
        bulletin=b, number=b.version, snapshot=snapshot(b), substantive=substantive, created_by=actor
    )


_CHOICES = {"field": Field, "content_type": ContentType, "priority": Priority, "language": Language}
_TIMES = ("produced_at", "valid_from", "valid_until")


def _local_time(value: Any) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    return f"{moment:%d/%m/%Y %H:%M}"


def _audio_text(asset_id: Any) -> str:
    if asset_id is None:
        return "không có"
    asset = MediaAsset.objects.filter(pk=asset_id).only("original_name", "duration_s").first()
    if asset is None:
        return f"tệp #{asset_id} (đã xóa)"
    seconds = f" ({round(asset.duration_s)} giây)" if asset.duration_s else ""
    return f"{asset.original_name or f'tệp #{asset_id}'}{seconds}"


def snapshot_lines(snap: dict[str, Any]) -> list[str]:
    """A snapshot as readable lines, for diffs: in the officer's words (the audio's title, the communes' names,
    Vietnam time, the labels of coded fields), never ids, unit codes or ISO timestamps. Always Vietnamese, like
    the stored versions."""
    names = dict(Unit.objects.filter(code__in=snap.get("receivers") or []).values_list("code", "name"))
    lines: list[str] = []
    with translation.override("vi"):
        for name, label in FIELD_LABELS.items():
            value = snap.get(name)
            if name in ("body", "read_as", "summary"):
                lines.append(f"{label}:")
                lines.extend(f"  {line}" for line in str(value or "").splitlines() or [""])
            elif name == "extras":
                lines.append(f"{label}: " + "; ".join(f"{e['name']}={e['value']}" for e in value or []))
            elif name == "receivers":
                lines.append(f"{label}: " + ", ".join(names.get(code, code) for code in value or []))
            elif name == "audio_asset_id":
                lines.append(f"{label}: {_audio_text(value)}")
            elif name in _TIMES and value:
                lines.append(f"{label}: {_local_time(value)}")
            elif name in _CHOICES and value is not None:
                try:
                    shown = str(_CHOICES[name](value).label)
                except ValueError:
                    shown = str(value)
                lines.append(f"{label}: {shown}")
            elif isinstance(value, bool):
                lines.append(f"{label}: {'có' if value else 'không'}")
            else:
                lines.append(f"{label}: {'' if value is None else value}")
    return lines


def diff_versions(old: BulletinVersion, new: BulletinVersion) -> tuple[str, str]:
    """The unified diff (for the API) and an HTML side-by-side table (for the console)."""
    a, b = snapshot_lines(old.snapshot), snapshot_lines(new.snapshot)
    unified = "\n".join(
        difflib.unified_diff(a, b, f"phiên bản {old.number}", f"phiên bản {new.number}", lineterm="")
    )
    table = difflib.HtmlDiff(wrapcolumn=60).make_table(
        a, b, f"Phiên bản {old.number}", f"Phiên bản {new.number}", context=True, numlines=1
    )
    return unified, table


def review_baseline(b: Bulletin) -> BulletinVersion | None:
    """The version an approver last saw as a whole: the one current when the bulletin was sent for approval, or
    the one of the last decision on it. ``None`` when nothing changed since (or it is not under review)."""
    if b.state != State.SUBMITTED or b.submitted_at is None:
        return None
    decided = b.approvals.order_by("-decided_at").values_list("version", flat=True).first()
    versions = BulletinVersion.objects.filter(bulletin=b)
    if decided is not None:
        base = versions.filter(number=decided).first()
    else:
        base = versions.filter(created_at__lte=b.submitted_at).order_by("-number").first()
    if base is None or base.number >= b.version:
        return None
    return base
