"""Models of boards: proof of display (the player's, S3) and board content (slides with their renditions per
screen class stored by sha256, playlists — a broadcast programme of slides, so the approval rules of docs/adr/0007
apply unchanged —, the board side of a broadcast schedule, screen-on windows per unit, and the compiled, signed
board manifests with their revisions: the planned side of planned versus shown)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loa.fleet.models import Device
from loa.signage.layouts import LAYOUT_LABELS
from loa.units.models import Unit


class ProofOfDisplay(models.Model):
    """One slide a board showed (start, end, content hash), ingested exactly once: the player gives each display a
    device-side ``event_id``, uploads at least once, and (device, event_id) is unique so a re-upload inserts
    nothing. Written by the player endpoint only (``loa.signage.player``)."""

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("Đã hiển thị đủ")
        PARTIAL = "partial", _("Hiển thị một phần")

    device = models.ForeignKey(
        Device, to_field="device_id", on_delete=models.CASCADE, related_name="displays"
    )
    event_id = models.UUIDField()
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    manifest_version = models.PositiveIntegerField(null=True)
    entry_id = models.CharField(max_length=200, blank=True)
    playlist_id = models.CharField(max_length=200, blank=True)
    schedule_id = models.CharField(max_length=200, blank=True)
    slide_id = models.CharField(max_length=200)
    zone = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16)
    content_sha256 = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    planned_s = models.FloatField(null=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SHOWN)
    reason = models.CharField(max_length=64, blank=True)
    offline = models.BooleanField(default=False)  # shown while the player could not reach the server
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("bằng chứng hiển thị")
        verbose_name_plural = _("bằng chứng hiển thị")
        constraints = [models.UniqueConstraint(fields=["device", "event_id"], name="display_device_event")]
        indexes = [
            models.Index(fields=["device", "-started_at"]),
            models.Index(fields=["unit", "-started_at"]),
            models.Index(fields=["entry_id", "device"], name="display_entry_device"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.slide_id} {self.started_at:%Y-%m-%d %H:%M:%S}"


# ---- board content (docs/signage.md) ---------------------------------------------------------------------


class SlideKind(models.TextChoices):
    TEXT = "text", _("Chữ")
    IMAGE = "image", _("Hình ảnh")
    VIDEO = "video", _("Video")
    PDF_PAGE = "pdf_page", _("Trang PDF")
    BULLETIN = "bulletin", _("Bản tin đã phát hành")
    TICKER = "ticker", _("Dòng chữ chạy")
    CLOCK = "clock", _("Đồng hồ, ngày tháng")


class Slide(models.Model):
    """One piece of board content, prepared when it is made: ``renditions`` maps a screen class to the file made
    for it (``{"landscape": {"sha256", "mime", "bytes", "width", "height", "ext"}}``) and ``fits`` to the font size
    the server's auto-fit found for the main zone (``{"landscape": {"font_px": 64, "lines": […]}}``)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="board_slides")
    kind = models.CharField(_("loại"), max_length=16, choices=SlideKind.choices)
    title = models.CharField(_("tiêu đề"), max_length=300)
    text = models.TextField(_("nội dung chữ"), blank=True)
    bulletin = models.ForeignKey(
        "content.Bulletin", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_sha256 = models.CharField(_("sha256 tệp gốc"), max_length=64, blank=True)
    source_name = models.CharField(_("tên tệp gốc"), max_length=255, blank=True)
    page = models.PositiveIntegerField(_("trang"), null=True, blank=True)
    media_duration_s = models.FloatField(_("thời lượng video (giây)"), null=True, blank=True)
    renditions = models.JSONField(default=dict, blank=True)
    fits = models.JSONField(default=dict, blank=True)
    qr = models.JSONField(default=dict, blank=True)  # bulletin slides: the QR image of the public page
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("trang trình chiếu")
        verbose_name_plural = _("trang trình chiếu")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Playlist(models.Model):
    """A board playlist. Its approval is its :class:`~loa.broadcast.models.Programme`'s (same states, same
    approvers, same "not its author" rule, same audit actions); its schedules are broadcast schedules of that
    programme (same recurrence, validity and exceptions)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="board_playlists")
    programme = models.OneToOneField(
        "broadcast.Programme", on_delete=models.PROTECT, related_name="board_playlist"
    )
    title = models.CharField(_("tên danh sách trình chiếu"), max_length=300)
    layout = models.CharField(_("bố cục"), max_length=32, default="main_ticker_clock")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("danh sách trình chiếu")
        verbose_name_plural = _("danh sách trình chiếu")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def layout_label(self) -> str:
        return gettext(LAYOUT_LABELS.get(self.layout, self.layout))


class PlaylistItem(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    slide = models.ForeignKey(Slide, on_delete=models.PROTECT, related_name="+")
    duration_s = models.FloatField()

    class Meta:
        ordering = ["playlist", "position"]
        constraints = [models.UniqueConstraint(fields=["playlist", "position"], name="playlist_item_pos")]

    def __str__(self) -> str:
        return f"{self.playlist_id}#{self.position}"


class BoardSchedule(models.Model):
    """The board side of a broadcast schedule: which playlist, and how long each session keeps it on screen
    (looping its slides); 0 = one pass."""

    schedule = models.OneToOneField("broadcast.Schedule", on_delete=models.CASCADE, related_name="board")
    playlist = models.ForeignKey(Playlist, on_delete=models.PROTECT, related_name="schedules")
    minutes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"board schedule {self.schedule_id}"


class ScreenWindows(models.Model):
    """When a unit's boards are lit (local ``HH:MM`` pairs, as guardrails store them); ``None`` inherits."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="screen_windows")
    windows = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"screen windows {self.unit_id}"


class BoardManifestRow(models.Model):
    """The current signed manifest of one board (served to the player, published on its push channel)."""

    device = models.OneToOneField(
        Device, to_field="device_id", on_delete=models.CASCADE, related_name="board_manifest"
    )
    version = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True)
    payload = models.BinaryField()
    valid_until = models.DateTimeField(null=True)
    generated_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.device_id} v{self.version}"


class BoardTimeline(models.Model):
    """One distinct timeline, stored once however many boards share it."""

    digest = models.CharField(max_length=64, unique=True)
    timeline = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest[:12]


class BoardManifestRevision(models.Model):
    """Board B got timeline T as version V at time G: what was planned at an instant is what the board's latest
    revision before that instant held (the planned side of planned versus shown)."""

    device = models.ForeignKey(
        Device, to_field="device_id", on_delete=models.CASCADE, related_name="board_revisions"
    )
    version = models.PositiveIntegerField()
    timeline = models.ForeignKey(BoardTimeline, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["device", "generated_at"])]

    def __str__(self) -> str:
        return f"{self.device_id} v{self.version}"


class SlideFile(models.Model):
    """Which stored board file (by sha256) belongs to which slide: who may fetch ``/signage/files/<sha256>.<ext>``
    is decided from the slides a person may see (:mod:`loa.signage.file_access`)."""

    slide = models.ForeignKey(Slide, on_delete=models.CASCADE, related_name="files")
    sha256 = models.CharField(max_length=64, db_index=True)
    ext = models.CharField(max_length=8)
    mime = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.sha256[:12]}.{self.ext}"


class ExpectedRender(models.Model):
    """What one slide looks like in the player's own screenshot, drawn once by headless Chromium for a screen size
    and kept by content (``key``: the screen, the layout and the slide's JSON without its id and duration), so
    boards with the same screen and content share it (:mod:`loa.signage.screencheck`)."""

    key = models.CharField(max_length=64, unique=True)
    width = models.PositiveIntegerField()  # of the board's screen
    height = models.PositiveIntegerField()
    kind = models.CharField(max_length=16)  # the slide's kind, or "idle" (the page with nothing to show)
    # the 16×16 difference hash (256 bits, hex) of the compared area: ``box`` [x0, y0, x1, y1] in fractions of the
    # screen (the main zone), with ``masks`` (areas left out of the comparison) blanked in both pictures
    phash = models.CharField(max_length=64)
    colours = models.CharField(max_length=96, blank=True)  # mean RGB of a 4×4 grid of the same area (hex)
    box = models.JSONField(default=list)
    masks = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.width}×{self.height} {self.phash[:8]}"
