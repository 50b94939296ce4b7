"""The public pages of polls (/congdan/tham-do/): the polls for a commune, a poll's form and its results (as the
poll's setting allows), voting with a device token (a signed cookie) or a verified phone, one ballot each."""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from loa.citizen.polls import results as poll_results
from loa.citizen.polls import services
from loa.citizen.polls.access import access_public_poll
from loa.citizen.polls.models import Poll
from loa.units.models import Level, Unit

DEVICE_COOKIE = "loa_poll_device"
DEVICE_SALT = "loa.polls.device"
TWO_YEARS = 2 * 365 * 24 * 3600


def _device_token(request: HttpRequest) -> str | None:
    return request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_SALT)


def _with_device(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if _device_token(request) is None:
        response.set_signed_cookie(DEVICE_COOKIE, secrets.token_urlsafe(24), salt=DEVICE_SALT, max_age=TWO_YEARS,
                                   httponly=True, samesite="Lax", secure=request.is_secure())  # fmt: skip
    return response


@require_GET
def poll_list(request: HttpRequest) -> HttpResponse:
    """``?xa=<commune code>``: the polls of that commune, its zones and its province (not drafts)."""
    code = request.GET.get("xa", "").strip()[:16]
    commune = Unit.objects.filter(code=code, level=Level.COMMUNE, is_active=True).first() if code else None
    polls: list[Poll] = []
    if commune is not None:
        above = [commune.path[:i] for i in range(1, len(commune.path) + 1)]
        candidates = Poll.objects.exclude(state=Poll.State.DRAFT).select_related("unit").order_by("-opens_at")
        polls = [p for p in candidates.filter(unit__path__in=above)[:50]] + list(
            candidates.filter(unit__path__startswith=commune.path).exclude(unit=commune)[:50]
        )
    return render(request, "polls/public_list.html", {"commune": commune, "code": code, "polls": polls},
                  status=404 if code and commune is None else 200)  # fmt: skip


def _page(request: HttpRequest, poll: Poll, status: int = 200, **extra: Any) -> HttpResponse:
    show = poll.results_public()
    ballots, rows = poll_results.results(poll, with_texts=False) if show else (0, [])
    values: dict[str, list[str]] = extra.pop("values", {})
    questions = [
        {
            "q": q,
            "choices": [(c, str(c.pk) in values.get(f"q{q.pk}", [])) for c in q.choices.all()],
            "points": [(v, str(v) in values.get(f"q{q.pk}", [])) for v in q.scale_range],
            "text": "\n".join(values.get(f"q{q.pk}", [])) if q.kind == "text" else "",
        }
        for q in poll.questions.prefetch_related("choices")
    ]  # the answers given stay in the form when it is refused
    context = {
        "poll": poll, "questions": questions, "is_open": poll.is_open(),
        "show_results": show, "ballots": ballots, "results": rows, **extra,
    }  # fmt: skip
    return _with_device(request, render(request, "polls/public_poll.html", context, status=status))


@never_cache
@require_GET
def poll_page(request: HttpRequest, poll_id: int) -> HttpResponse:
    return _page(request, access_public_poll(poll_id))


@never_cache
@require_POST
def send_code(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = access_public_poll(poll_id)
    try:
        phone = services.do_send_phone_code(poll, request.POST.get("phone", ""))
    except services.PollError as exc:
        return _page(request, poll, exc.status, error=exc, phone=request.POST.get("phone", "")[:20])
    note = _("Đã gửi mã xác minh tới số %(phone)s: nhập mã cùng câu trả lời.") % {"phone": phone}
    return _page(request, poll, phone=phone, note=note)


@never_cache
@require_POST
def vote(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = access_public_poll(poll_id)
    p = request.POST
    try:
        services.check_open(poll)
        answers = services.check_ballot(poll, p)
        if poll.vote_rule == Poll.VoteRule.PHONE:
            key = services.check_phone_code(poll, p.get("phone", ""), p.get("code", ""))
        else:
            token = _device_token(request)
            if token is None:
                raise services.PollError(
                    "device_cookie_missing",
                    _(
                        "Trình duyệt chưa nhận mã thiết bị (cookie): hãy bật cookie, tải lại trang rồi trả lời."
                    ),
                    400,
                )
            key = services.voter_key(poll, Poll.VoteRule.DEVICE, token)
        services.do_cast_ballot(poll, key=key, rule=poll.vote_rule, answers=answers)
    except services.PollError as exc:
        values = {k: p.getlist(k) for k in p if k.startswith("q")}
        return _page(request, poll, exc.status, error=exc, values=values, phone=p.get("phone", "")[:20])
    return _page(request, poll, voted=True)
