"""The console's one place for refusals: a :class:`loa.errors.Refusal` that leaves a page view is shown to the
operator in Vietnamese and logged as one line, never as a traceback or a server error.

- ``AccessDenied`` (403) and ``UnitNotFound`` (404) render the console's 403 and 404 pages.
- Any other refusal of a form post: the message is flashed and the browser goes back to the page it came from
  (an htmx request is sent there with ``HX-Redirect``), so the operator sees what to correct.
- Any other refusal of a page read: a page that states the message, with the refusal's status.

A view that re-shows a form with the message next to its field still catches the refusal itself; everything else
lets it pass. The API has its own handler (:mod:`loa.api.errors`) and is left alone here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from loa.errors import Refusal

logger = logging.getLogger("loa.refusals")


def _back(request: HttpRequest) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def refusal_response(request: HttpRequest, exc: Refusal) -> HttpResponse:
    """What the console answers for ``exc`` (also usable by a view that wants the default behaviour)."""
    response = _answer(request, exc)
    response._has_been_logged = True  # type: ignore[attr-defined]  # our line below; not Django's 4xx warning too
    logger.info(
        "refused %s %s for %s: %s (%s) %s",
        request.method,
        request.path,
        getattr(getattr(request, "user", None), "username", "") or "-",
        exc.code,
        exc.status,
        exc.message,
    )
    return response


def _answer(request: HttpRequest, exc: Refusal) -> HttpResponse:
    if isinstance(exc, PermissionDenied):
        return render(request, "403.html", {"exception": exc.message}, status=exc.status)
    if isinstance(exc, Http404):
        return render(request, "404.html", {"exception": exc.message}, status=exc.status)
    if request.method == "POST":
        messages.error(request, exc.message)
        back = _back(request)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = back
            return response
        return HttpResponseRedirect(back)
    return render(request, "refusal.html", {"refusal": exc}, status=exc.status)


class RefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Refusal) or request.path.startswith("/api/"):
            return None
        return refusal_response(request, exception)
