"""Who carries a one-time code to a citizen's phone or e-mail: pluggable by ``LOA_FEEDBACK_CODE_SENDER`` (a dotted
path to a class with ``send(kind, contact, code, reference)``).

The default, :class:`LogSender`, writes the code to the log (logger ``loa.citizen.codes``): the demo's console shows
it, and a province plugs in its SMS gateway or mail server by writing one small class (docs/citizen.md).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

log = logging.getLogger("loa.citizen.codes")


class CodeSender(Protocol):
    def send(self, kind: str, contact: str, code: str, reference: str) -> None: ...


def masked_contact(kind: str, contact: str) -> str:
    """The contact as it may be shown or logged (Decree 13/2023): a phone's first three and last three digits, an
    e-mail's first letter and domain — enough for the citizen to recognise it, not enough to call them."""
    if kind == "email" and "@" in contact:
        name, domain = contact.rsplit("@", 1)
        return f"{name[:1]}•••@{domain}"
    if len(contact) <= 6:
        return "•" * len(contact)
    return f"{contact[:3]}{'•' * (len(contact) - 6)}{contact[-3:]}"


class LogSender:
    """The demo's sender: the code goes to the log, nowhere else — with the contact masked, so the log holds no
    citizen's phone number or e-mail."""

    def send(self, kind: str, contact: str, code: str, reference: str) -> None:
        log.warning(
            "Mã xác minh phản ánh %s gửi tới %s (%s): %s",
            reference,
            masked_contact(kind, contact),
            kind,
            code,
        )


class MailSender:
    """E-mail through Django's mail settings; phone numbers still go to the log (no SMS gateway configured)."""

    def send(self, kind: str, contact: str, code: str, reference: str) -> None:
        if kind != "email":
            LogSender().send(kind, contact, code, reference)
            return
        send_mail(
            f"Mã xác minh phản ánh {reference}",
            f"Mã xác minh của bạn là {code}. Mã có hiệu lực trong 30 phút.",
            None,
            [contact],
        )


@cache
def _sender(path: str) -> CodeSender:
    sender: CodeSender = import_string(path)()
    return sender


def get_sender() -> CodeSender:
    return _sender(getattr(settings, "LOA_FEEDBACK_CODE_SENDER", "loa.citizen.feedback_senders.LogSender"))
