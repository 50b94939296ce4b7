"""Polls and surveys (thăm dò ý kiến): a poll of a unit (its audience: the unit and the communes under it), its
questions and choices, and the ballots citizens cast, one per verified phone or per device.

A ballot keeps no phone number and no device token: only a keyed hash of it for this poll (``voter_key``), enough to
refuse a second vote and nothing more (Law 91/2025: collect only what the purpose needs).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Poll(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Bản nháp")
        PUBLISHED = "published", _("Đã công bố")
        CLOSED = "closed", _("Đã đóng")

    class Results(models.TextChoices):
        ALWAYS = "always", _("Công khai ngay khi có người trả lời")
        AFTER_CLOSE = "after_close", _("Công khai sau khi đóng")
        STAFF = "staff", _("Chỉ cán bộ xem")

    class VoteRule(models.TextChoices):
        DEVICE = "device", _("Mỗi thiết bị một lần")
        PHONE = "phone", _("Mỗi số điện thoại đã xác minh một lần")

    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="polls", verbose_name=_("đơn vị")
    )
    title = models.CharField(_("tiêu đề"), max_length=200)
    description = models.TextField(_("mô tả"), blank=True)
    state = models.CharField(_("trạng thái"), max_length=16, choices=State.choices, default=State.DRAFT)
    opens_at = models.DateTimeField(_("mở từ"))
    closes_at = models.DateTimeField(_("đóng lúc"))
    results = models.CharField(
        _("kết quả"), max_length=16, choices=Results.choices, default=Results.AFTER_CLOSE
    )
    vote_rule = models.CharField(_("cách tính một phiếu"), max_length=16, choices=VoteRule.choices,
                                 default=VoteRule.DEVICE)  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("cuộc thăm dò ý kiến")
        verbose_name_plural = _("cuộc thăm dò ý kiến")
        ordering = ["-opens_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    def is_open(self, now: object = None) -> bool:
        now = now or timezone.now()
        return self.state == self.State.PUBLISHED and self.opens_at <= now < self.closes_at  # type: ignore[operator]

    def is_over(self, now: object = None) -> bool:
        now = now or timezone.now()
        return self.state == self.State.CLOSED or (
            self.state == self.State.PUBLISHED and now >= self.closes_at  # type: ignore[operator]
        )

    def results_public(self, now: object = None) -> bool:
        if self.state == self.State.DRAFT:
            return False
        if self.results == self.Results.ALWAYS:
            return True
        return self.results == self.Results.AFTER_CLOSE and self.is_over(now)


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Chọn một")
        MULTIPLE = "multiple", _("Chọn nhiều")
        SCALE = "scale", _("Thang điểm")
        TEXT = "text", _("Trả lời tự do")

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(_("loại câu hỏi"), max_length=16, choices=Kind.choices)
    text = models.CharField(_("câu hỏi"), max_length=500)
    required = models.BooleanField(_("bắt buộc trả lời"), default=True)
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=5)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text

    @property
    def scale_range(self) -> range:
        return range(self.scale_min, self.scale_max + 1)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(_("lựa chọn"), max_length=200)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text


class Ballot(models.Model):
    """One citizen's answers to a poll."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots")
    voter_key = models.CharField(max_length=64)  # HMAC of the phone or device token, for this poll only
    rule = models.CharField(max_length=16, choices=Poll.VoteRule.choices)
    cast_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter_key"], name="polls_one_ballot_per_voter")
        ]

    def __str__(self) -> str:
        return f"ballot {self.pk} of poll {self.poll_id}"


class Answer(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    choice = models.ForeignKey(
        Choice, null=True, blank=True, on_delete=models.CASCADE, related_name="answers"
    )
    value = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"answer {self.pk}"


class PhoneCode(models.Model):
    """A one-time code sent to a phone to vote in a poll; the phone is kept only as a keyed hash."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")
    phone_key = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for poll {self.poll_id}"
