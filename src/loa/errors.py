"""The one shape of a refusal: a machine-readable ``code`` and a Vietnamese ``message`` an operator can act on.

Every domain's refusal (``UnitError``, ``BulletinError``, ``MediaRejected``, ``GuardrailError``…) and the access
errors (``AccessDenied`` 403, ``UnitNotFound`` 404) are a :class:`Refusal`. They are rendered in exactly two places:
the API's handler (:mod:`loa.api.errors`) turns one into ``{"error": {"code", "message", "details"}}`` with
``status`` (default 400), and the console's middleware (:mod:`loa.console.refusals`) shows the message on the page.
Nothing else translates them: an endpoint or a view lets a refusal pass, unless it re-shows a form with the message
next to the field.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    status: int = 400

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        *,
        field: str = "",
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.field = field  # the form or JSON field the refusal is about, if one
        self.details = list(details or [])  # e.g. every broken guardrail

    def __str__(self) -> str:
        return self.message

    def error_details(self) -> list[dict[str, Any]]:
        """``details`` of the API's error body: the given ones, else one naming ``field``, else none."""
        if self.details:
            return self.details
        if self.field:
            return [{"field": self.field, "code": self.code, "message": self.message}]
        return []
