"""One language at a time (issue 19, item 10): every console page, discovered from the URL configuration like the
permission matrix does and filled with objects of one commune, is rendered in Vietnamese and in English as users
who may see it (the province's admin, the commune's operator and technician).

In English no word with Vietnamese letters may show, except the data the test seeded (unit names, titles, user
names: they are taken out of the page before it is read). In Vietnamese none of the English state and UI words
operators reported ("idle", "mains", "north", "start", "done", "sent", …) may show. Only the visible text is read
(scripts, styles and tags are removed; the title, placeholder and aria-label attributes are kept), and the
technician-only "Nâng cao" sections are read too: they are translated like the rest.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from loa.accounts.models import ApiToken, RoleAssignment, User
from loa.accounts.roles import Role
from loa.units.models import Unit
from tests.loa.test_permission_matrix import (  # type: ignore[import-not-found]
    PARAM_FACTORIES,
    World,
    _b_asset,
    _b_bulletin,
    _b_clip,
    _b_command,
    _b_device,
    _b_emergency,
    _b_schedule,
    console_routes,
)

# Letters only Vietnamese uses (a page in English showing one of them shows a Vietnamese word).
VIETNAMESE_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ]"
)
VIETNAMESE_WORD = re.compile(r"\S*" + VIETNAMESE_LETTERS.pattern + r"\S*")
# English words seen in the Vietnamese console (issue 19) and their neighbours: state, power, link, voice,
# log kinds, delivery states and form words.
ENGLISH_WORDS = (
    "idle", "mains", "battery", "north", "south", "start", "end", "sent", "done", "pending", "playing",
    "failed", "acked", "active", "draft", "published", "approved", "submitted", "cancelled", "expired",
    "daily", "weekly", "once", "none", "true", "false", "unknown", "error", "save", "cancel", "submit",
    "delete", "edit", "settings", "schedule", "programme", "bulletin", "device", "devices", "yes", "no",
    "stop", "play", "volume", "manual", "queued", "running", "finished", "never", "online", "offline",
)  # fmt: skip
ENGLISH = re.compile(
    r"(?<![\w./:#=;-])(" + "|".join(ENGLISH_WORDS) + r")(?![\w/:.-]*\w)"
    r"|(?<![\w./:#=;-])[a-z]+_[a-z_]+(?![\w/:.=-])",  # a raw code such as outside_window or not_delivered
    re.IGNORECASE,
)
# The language switch names each language in its own words.
SWITCH = ("Tiếng Việt", "English")
# The English names of the levels below a commune keep the Vietnamese term after them, as a gloss: "Village
# (thôn)" and "Village (buôn)" are different things with no English words of their own.
GLOSSES = ("(thôn)", "(bản)", "(tổ dân phố)", "(khu phố)", "(ấp)", "(buôn)", "(phum/sóc)")


def _visible_text(body: str) -> str:
    body = re.sub(r"<(script|style|template)\b.*?</\1>", " ", body, flags=re.S | re.I)
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    attrs = re.findall(r'\s(?:title|placeholder|aria-label|alt)="([^"]*)"', body)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(body + " " + " ".join(attrs))


def _data_strings() -> list[str]:
    """Everything the test seeded as data, longest first (so a name is removed before its parts)."""
    from loa.audit.models import AuditEntry
    from loa.broadcast.models import Emergency, Programme, ProgrammeItem, Schedule
    from loa.content.models import Bulletin
    from loa.fleet.models import Device
    from loa.media.models import MediaAsset
    from loa.tts.models import SpeechClip

    out: set[str] = set()
    out.update(Unit.objects.values_list("name", flat=True))
    out.update(User.objects.values_list("full_name", flat=True))
    out.update(User.objects.values_list("username", flat=True))
    for b in Bulletin.objects.all():
        out.update([b.title, b.body or "", getattr(b, "summary", "") or ""])
    out.update(Programme.objects.values_list("title", flat=True))
    out.update(ProgrammeItem.objects.values_list("title", flat=True))
    out.update(Schedule.objects.values_list("title", flat=True))
    out.update(Emergency.objects.values_list("title", flat=True))
    out.update(MediaAsset.objects.values_list("original_name", flat=True))
    out.update(SpeechClip.objects.values_list("text", flat=True))
    for d in Device.objects.all():
        out.update([d.name or "", d.place or ""])
    # an audit entry's message is a record, kept in the words it was written in
    out.update(AuditEntry.objects.values_list("message", flat=True))
    out.update(ApiToken.objects.values_list("prefix", flat=True))
    from loa.citizen.models import CalendarDay, Feedback  # a citizen's feedback is in the words they wrote

    for f in Feedback.objects.all():
        out.update([f.text, f.address, f.public_summary, f.answer, f.contact])
    out.update(CalendarDay.objects.values_list("name", flat=True))  # the holidays' official names
    from loa.signage.models import Playlist, Slide  # board content is in the words its author typed

    for s in Slide.objects.all():
        out.update([s.title, s.text, *s.text.split("\n")])
    out.update(Playlist.objects.values_list("title", flat=True))
    # who did it, as the audit entry recorded it ("hệ thống", "người dân (ẩn danh)"): a record too
    out.update(AuditEntry.objects.values_list("actor_label", flat=True))
    from loa.citizen.polls.models import Poll, Question  # a poll is in the words its author typed

    out.update(Poll.objects.values_list("title", flat=True))
    out.update(Question.objects.values_list("text", flat=True))
    # the readings of the Vietnamese speech table are Vietnamese words whatever the page's language, and so are
    # the try sentence of the abbreviation page and what the machine reads for it
    from loa.tts.models import Abbreviation
    from loa.tts.normalize import bundled_context_rules, normalize_vi
    from loa.tts.views import EXAMPLE

    for rule in bundled_context_rules():
        out.update([rule.text, rule.reading, ", ".join(rule.near)])
    for a in Abbreviation.objects.all():
        out.update([a.text, a.reading, a.near])
    from loa.tts.spans import reading_spans

    spans = (span.text.strip() for span in reading_spans(EXAMPLE, normalize_vi(EXAMPLE)))
    out.update([EXAMPLE, *(t for t in spans if any(c.isalpha() for c in t))])
    # a periodic report is an official Vietnamese document (Decree 30/2020): its title words, its recipients and its
    # signer are the document's, whatever the console's language
    from loa.analytics.models import Report
    from loa.analytics.reports import default_recipients, period_words

    for unit in Unit.objects.all():
        out.update(line.strip() for line in default_recipients(unit).splitlines())
    for r in Report.objects.all():
        out.update([period_words(r.kind, r.first, r.last), r.number, r.signer_title, r.signer_name])
        out.update(line.strip() for line in r.recipients.splitlines())
    from loa.fleet.models import KillSwitch  # the reason an approver typed when engaging it

    out.update(KillSwitch.objects.values_list("reason", flat=True))
    out.update(SWITCH)
    out.update(GLOSSES)
    return sorted((s for s in out if s), key=len, reverse=True)


@pytest.fixture
def world(tree: dict[str, Unit], make_user: Callable[..., User]) -> World:
    b_user = make_user("nguoi-van-hanh-b", Role.COMMUNE_OPERATOR, tree["b"])
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=b_user, name="ma-thu", prefix=key[:8], key_hash=ApiToken.hash_key(key), scopes=["*"]
    )
    w = World(tree=tree, b_user=b_user, b_assignment=RoleAssignment.objects.get(user=b_user), b_token=token,
              extra={})  # fmt: skip
    for seed in (_b_bulletin, _b_schedule, _b_emergency, _b_asset, _b_clip, _b_device, _b_command):
        seed(w)
    _device_reports(w)
    return w


def _device_reports(w: World) -> None:
    """What a working cluster sends, so that state, power, link, play-log and delivery words show on the pages:
    a status (idle, mains, 4g), a history sample, a start and an end in the play log, a delivery done."""
    import uuid

    from django.utils import timezone

    from loa.fleet.models import CommandDelivery, PlayLog, StatusSample

    device = _b_device(w)
    now = timezone.now()
    device.online, device.last_seen = True, now
    device.last_status = {"state": "idle", "volume": 70, "link": "4g", "power": "mains", "signal_dbm": -80}
    device.save()
    StatusSample.objects.create(device=device, at=now, state="idle", volume=70, link="4g", power="mains")
    for kind, reason in (("start", ""), ("end", ""), ("refused", "outside_window")):
        PlayLog.objects.create(
            device=device, event_id=uuid.uuid4(), unit=w.tree["b"], kind=kind, item_id="pn-1", at=now,
            reason=reason, received_at=now,
        )  # fmt: skip
    CommandDelivery.objects.filter(command=_b_command(w)).update(state="done", sent_at=now, acked_at=now)


def _pages(world: World, clients: list[Client]) -> list[tuple[str, Client]]:
    """Every console page a GET opens (200), each with a client that may see it."""
    pages = []
    for _route, name, params in console_routes():
        if name in {"accounts:logout", "set_language", "media:file"}:
            continue
        url = reverse(name, kwargs={p: PARAM_FACTORIES[p](world) for p in params})
        for client in clients:
            response = client.get(url, {"unit": world.tree["b"].code}, HTTP_ACCEPT_LANGUAGE="vi")
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                pages.append((url, client))
    return pages


def test_every_console_page_speaks_one_language(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    tree = world.tree
    clients = [
        client_for(make_user("quan-tri-tinh", Role.PROVINCE_ADMIN, tree["province"])),
        client_for(world.b_user),
        client_for(make_user("ky-thuat-b", Role.TECHNICIAN, tree["b"])),
        client_for(make_user("kiem-toan-b", Role.AUDITOR, tree["b"])),
    ]
    pages = _pages(world, clients)
    assert len({url for url, _c in pages}) > 40, "the test reaches the console's pages"
    data = _data_strings()
    problems: list[str] = []
    for url, client in pages:
        for lang in ("en", "vi"):
            response = client.get(url, {"unit": tree["b"].code}, HTTP_ACCEPT_LANGUAGE=lang)
            text = _visible_text(response.content.decode())
            for value in data:
                text = text.replace(value, " ")
            text = re.sub(r"\s+", " ", text)
            pattern = VIETNAMESE_WORD if lang == "en" else ENGLISH
            found = {
                " ".join(text[max(0, m.start() - 25) : m.end() + 25].split()) for m in pattern.finditer(text)
            }
            line = f"{lang} {url}: " + " | ".join(sorted(found)[:8])
            if found and line not in problems:
                problems.append(line)
    assert not problems, f"{len(problems)} pages mix languages:\n" + "\n".join(problems)


def test_the_check_sees_a_word_of_the_other_language() -> None:
    """The detectors themselves: a Vietnamese word in English text and an English state word in Vietnamese."""
    assert VIETNAMESE_LETTERS.search("Played: 3 đã phát")
    assert not VIETNAMESE_LETTERS.search("Played: 3 of 4, every day at 06:00")
    assert ENGLISH.search("Trạng thái: idle · nguồn: mains")
    assert ENGLISH.search("Lý do: outside_window")
    assert not ENGLISH.search("Trạng thái: chờ · loa-0000000b0b0b · /broadcast/start/ · 06:00")
