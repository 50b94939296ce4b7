"""The one shape of a refusal: a machine-readable ``code`` and a Vietnamese ``message`` an operator can act on.

Every domain's refusal (``UnitError``, ``BulletinError``, ``MediaRejected``…) is a :class:`Refusal`; the API turns any
refusal that reaches it into its error format with ``status`` (default 400), so none can become a 500.
"""

from __future__ import annotations


class Refusal(Exception):
    status: int = 400

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message
