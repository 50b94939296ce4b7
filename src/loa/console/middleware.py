"""Secure headers for every response: a strict Content-Security-Policy (all assets are served locally); and no
``Vary`` on an answer marked the same for everyone (:func:`loa.media.files.mark_same_for_everyone`)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from loa.media.files import is_same_for_everyone

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


class SecureHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Permissions-Policy", "camera=(), geolocation=(self), microphone=(self)")
        if is_same_for_everyone(response) and "Vary" in response.headers:
            # after the session and language middlewares (they run inside this one): nothing of the request
            # changes this answer, and a Vary would keep a shared cache from giving it to the next device
            del response.headers["Vary"]
        return response
