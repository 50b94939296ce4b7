"""Where a bulletin comes from: the people and bulletins behind it (for the page and the API)."""

from __future__ import annotations

from typing import Any

from loa.content.models import (
    Bulletin,
)

# ---- provenance ----------------------------------------------------------------------------------------


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "full_name": user.full_name or user.username}


def _ref(b: Bulletin | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {"id": b.pk, "title": b.title, "unit": b.origin_unit.name, "unit_code": b.origin_unit.code}


def provenance(b: Bulletin) -> dict[str, Any]:
    """Who wrote it, who edited it, who approved each step, who published it, where it came from."""
    editors: list[dict[str, Any]] = []
    seen: set[int] = set()
    for v in b.versions.select_related("created_by").order_by("number"):
        if v.created_by_id not in seen:
            seen.add(v.created_by_id)
            editors.append(_person(v.created_by) or {})
    approvals = [
        {
            "step": a.step,
            "label": a.step_label,
            "role": a.role,
            "decision": a.decision,
            "user": _person(a.user),
            "decided_at": a.decided_at,
            "version": a.version,
            "note": a.note,
            "cleared": a.cleared_at is not None,
        }
        for a in b.approvals.select_related("user").order_by("decided_at", "pk")
    ]
    return {
        "origin_unit": {"code": b.origin_unit.code, "name": b.origin_unit.name},
        "created_by": _person(b.created_by),
        "created_at": b.created_at,
        "author": {"name": b.author_name, "pen_name": b.author_pen_name, "email": b.author_email},
        "news_source": b.news_source,
        "editors": editors,
        "approvals": approvals,
        "published_by": _person(b.published_by),
        "published_at": b.published_at,
        "shared_from": _ref(b.shared_from),
        "replaces": _ref(b.replaces),
        "superseded_by": _ref(b.superseded_by),
    }
