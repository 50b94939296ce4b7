"""Periodic reports (issue 12): made by a background job with a progress bar, read back in XLSX (openpyxl), PDF
(pdftotext, and pdftoppm for the diacritics) and DOCX (python-docx), with figures equal to a direct count of the raw
rows for the province and for a commune; the Decree 30/2020 layout; the province's report consolidates its
communes'; a report drawn again gives the same bytes and a snapshot taken again the same digest; the monthly job
makes last month's reports once and notifies the people responsible."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import override_settings
from docx import Document

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.analytics import documents
from loa.analytics.models import Report, ReportNotice
from loa.analytics.reports import (
    check_report_period,
    do_schedule_monthly_reports,
    figures_digest,
    file_path,
    take_snapshot,
)
from loa.errors import Refusal
from loa.jobs.models import Job
from loa.jobs.run import run_job
from tests.loa.analytics.conftest import World, at, simulate  # type: ignore[import-not-found]
from tests.loa.analytics.test_report import figures, raw_counts  # type: ignore[import-not-found]

REPORT_AT = at(dt.date(2027, 1, 5), 9)  # made on 05/01/2027 at 09:00 Vietnam time
KEYS = ("plays_planned", "plays_played", "airtime_total_h", "bulletins_published")


def pdf_text(content: bytes, tmp: Path, *, layout: bool = True) -> str:
    path = tmp / "r.pdf"
    path.write_bytes(content)
    args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def docx_text(content: bytes) -> tuple[str, dict[str, str]]:
    """All paragraphs (also inside the layout tables) and, from the KPI tables, name → value."""
    doc = Document(io.BytesIO(content))
    lines = [p.text for p in doc.paragraphs]
    values: dict[str, str] = {}
    for t in doc.tables:
        for row in t.rows:
            cells = [c.text for c in row.cells]
            lines += [p.text for c in row.cells for p in c.paragraphs]
            if len(cells) == 3:
                values.setdefault(cells[0], cells[1])
    return "\n".join(lines), values


def kpi_names(snapshot: dict[str, Any]) -> dict[str, str]:
    return {k["key"]: k["name"] for k in snapshot["kpis"]}


def create(client: Any, code: str, **body: Any) -> Any:
    return client.post(f"/api/v1/analytics/units/{code}/reports", body, content_type="application/json")


def test_reports_read_back_equal_the_raw_rows_in_the_decree_layout(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any], tmp_path: Path
) -> None:
    simulate(world, incremental=True)
    province_unit, commune_unit = world.tree["province"], world.tree["b"]
    raws = {
        u.code: raw_counts(u) for u in (province_unit, commune_unit)
    }  # counted straight from the raw rows
    with time_machine.travel(REPORT_AT, tick=False):  # sessions are signed in on the day the reports are made
        province = client_for(make_user("tinh", Role.PROVINCE_ADMIN, province_unit))
        commune = client_for(make_user("xa_b", Role.COMMUNE_OPERATOR, commune_unit))
        # the commune first, so the province's consolidation lists it
        made = {}
        for client, unit, number in ((commune, commune_unit, "7/BC-UBND"), (province, province_unit, "12")):
            r = create(
                client, unit.code, kind="month", period="2026-12", number=number, signer_name="Nguyễn Văn An"
            )
            assert r.status_code == 202, r.content[:300]
            assert r.json()["state"] == "done" and r.json()["progress"] == 100  # inline in tests
            status = client.get(f"/api/v1/analytics/reports/{r.json()['id']}").json()
            assert status["source"]["rollup_rows"] > 0 and len(status["digest"]) == 64
            made[unit.code] = Report.objects.get(pk=r.json()["id"])
        for client, unit in ((province, province_unit), (commune, commune_unit)):
            report = made[unit.code]
            raw = raws[unit.code]
            assert raw["plays_planned"] > 0
            files = {}
            for fmt in ("xlsx", "pdf", "docx"):
                got = client.get(f"/api/v1/analytics/reports/{report.pk}/download?format={fmt}")
                assert got.status_code == 200, got.content[:300]
                files[fmt] = got.content
                # the console's link gives the same file
                assert client.get(f"/analytics/reports/{report.pk}/report.{fmt}").content == got.content
            # XLSX
            xlsx, drill = figures(files["xlsx"])
            assert list(drill.iter_rows(min_row=2, values_only=True))[-1][0] == "Tổng"
            for key in KEYS:
                assert xlsx[(key, "")] == raw[key], (unit.code, key)
            assert sum(v for (k, _p), v in xlsx.items() if k == "commands_by_action") == raw["commands"]
            # PDF: the layout of Decree 30/2020 and the figures
            text = pdf_text(files["pdf"], tmp_path)
            plain = pdf_text(files["pdf"], tmp_path, layout=False)
            full = "Phường Cao Xanh" if unit == commune_unit else "Tỉnh Quảng Ninh"
            place = "Cao Xanh" if unit == commune_unit else "Quảng Ninh"
            for line in (
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                "Độc lập - Tự do - Hạnh phúc",
                f"ỦY BAN NHÂN DÂN {full.upper()}",
                "Số: 7/BC-UBND" if unit == commune_unit else "Số: 12/BC-UBND",
                f"{place}, ngày 05 tháng 01 năm 2027",
                "BÁO CÁO",
                "Kết quả hoạt động thông tin cơ sở tháng 12 năm 2026",
                "Nơi nhận:",
                "TM. ỦY BAN NHÂN DÂN",
                "CHỦ TỊCH",
                "Nguyễn Văn An",
                "loa analytics rebuild --from 2026-12-01 --to 2026-12-31",
            ):
                assert line in " ".join(plain.split()), (unit.code, line)
            names = kpi_names(report.snapshot)
            for key in KEYS:
                value = documents.fmt_number(raw[key] if key != "airtime_total_h" else float(raw[key]))
                assert re.search(rf"{re.escape(names[key])}\s+{re.escape(value)}\s", text), (
                    unit.code,
                    key,
                    value,
                )
            # DOCX: the same layout and figures, editable paragraphs and tables
            words, values = docx_text(files["docx"])
            for line in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", f"ỦY BAN NHÂN DÂN {full.upper()}",
                         f"{place}, ngày 05 tháng 01 năm 2027", "Nơi nhận:", "TM. ỦY BAN NHÂN DÂN"):  # fmt: skip
                assert line in " ".join(words.split()), (unit.code, line)
            for key in KEYS:
                assert values[names[key]] == documents.fmt_number(
                    raw[key] if key != "airtime_total_h" else float(raw[key])
                ), (unit.code, key)
            # drawn again from the snapshot: the same bytes; the snapshot taken again: the same digest
            for fmt in ("xlsx", "pdf", "docx"):
                assert documents.render(report.snapshot, fmt) == files[fmt], fmt
                file_path(report, fmt).unlink()
                again = client.get(f"/api/v1/analytics/reports/{report.pk}/download?format={fmt}").content
                assert hashlib.sha256(again).digest() == hashlib.sha256(files[fmt]).digest(), fmt
            assert figures_digest(take_snapshot(report)) == report.digest
            if unit == province_unit:
                # the consolidation: each commune's figures, their sum, and the communes' own reports
                rows = {r[0]: r for r in report.snapshot["rows"]}
                assert rows["06652"][4] == 6 and rows["06658"][4] == 3
                assert documents.drill_total(report.snapshot)[4] == raw["plays_planned"] == 9
                assert re.search(r"Tổng\s+.*\b9\b", text)
                assert report.snapshot["children_reports"] == {
                    "06658": {"id": made["06658"].pk, "number": "7/BC-UBND", "digest": made["06658"].digest}
                }
        # a commune sees only its own reports
        assert commune.get(f"/api/v1/analytics/reports/{made['22'].pk}").status_code == 404
        assert commune.get(f"/analytics/reports/{made['22'].pk}/report.pdf").status_code == 404
        listed = {r["unit_code"] for r in province.get("/api/v1/analytics/units/22/reports").json()}
        assert listed == {"22", "06658"}
        assert {r["unit_code"] for r in commune.get("/api/v1/analytics/units/06658/reports").json()} == {
            "06658"
        }


def _ink_box(img: Any) -> Any:
    from PIL import ImageOps

    box = ImageOps.invert(img.convert("L")).point(lambda v: 255 if v > 96 else 0).getbbox()
    return img.crop(box).convert("L").resize((120, 24)).point(lambda v: 0 if v < 160 else 255)


def _distance(a: Any, b: Any) -> float:
    pa, pb = a.tobytes(), b.tobytes()
    return sum(1 for x, y in zip(pa, pb, strict=True) if x != y) / len(pa)


def _strip_marks(word: str) -> str:
    return "".join(
        c
        for c in unicodedata.normalize("NFD", word.replace("Đ", "D").replace("đ", "d"))
        if not unicodedata.combining(c)
    )


def test_the_pdf_draws_vietnamese_diacritics(
    world: World,
    make_user: Callable[..., User],
    client_for: Callable[[User], Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """pdftoppm draws the first page; each accented word of the heading, cut out by its pdftotext box, looks like
    the word drawn with the bundled font, and not like the word without its marks (a missing glyph or a fallback
    font would fail). Making it logs no warning (WeasyPrint warns on every PDF when libharfbuzz-subset0 is
    missing, and a worker's log full of those hides the ones that matter)."""
    from PIL import Image, ImageDraw, ImageFont

    with time_machine.travel(REPORT_AT, tick=False), caplog.at_level(logging.WARNING):
        client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
        r = create(client, "22", kind="month", period="2026-12")
        content = client.get(f"/api/v1/analytics/reports/{r.json()['id']}/download?format=pdf").content
    assert content.startswith(b"%PDF")
    assert not [rec.getMessage() for rec in caplog.records if rec.name.startswith("weasyprint")]
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(content)
    dpi = 300
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "p")], check=True
    )
    page = Image.open(next(tmp_path.glob("p*.png")))
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)</word>', bbox
    )
    bold = Path(documents.font_faces()[1]["url"].removeprefix("file://"))
    checked = 0
    for target in ("CỘNG", "HÒA", "HỘI", "NGHĨA", "VIỆT", "Độc", "Hạnh", "phúc"):
        found = [w for w in words if w[4] == target]
        assert found, target
        x0, y0, x1, y1 = (float(v) * dpi / 72 for v in found[0][:4])
        cut = _ink_box(page.crop((int(x0) - 2, int(y0) - 2, int(x1) + 2, int(y1) + 2)))

        def drawn(text: str, y0: float = y0, y1: float = y1) -> Any:
            font = ImageFont.truetype(str(bold), int((y1 - y0) * 0.75))
            canvas = Image.new("L", (int((y1 - y0) * len(text) * 1.5), int((y1 - y0) * 2)), 255)
            ImageDraw.Draw(canvas).text((4, int((y1 - y0) * 0.5)), text, font=font, fill=0)
            return _ink_box(canvas)

        same, bare = _distance(cut, drawn(target)), _distance(cut, drawn(_strip_marks(target)))
        assert same < 0.08 and same < bare, (target, same, bare)
        checked += 1
    assert checked == 8
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert all("LoaSerif" in line for line in fonts.splitlines()[2:]), (
        fonts
    )  # every glyph from the bundled serif


@pytest.mark.parametrize(
    ("kind", "period", "first", "last"),
    [
        ("month", "2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        ("quarter", "2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ("half", "2026-H1", dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
        ("half", "2026-h2", dt.date(2026, 7, 1), dt.date(2026, 12, 31)),
        ("year", "2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_report_periods(kind: str, period: str, first: dt.date, last: dt.date) -> None:
    with time_machine.travel(REPORT_AT, tick=False):
        assert check_report_period(kind, period) == (first, last)


def test_report_periods_refused() -> None:
    with time_machine.travel(REPORT_AT, tick=False):
        for args, code in (
            (("week", "2026-12"), "report_kind_invalid"),
            (("month", "2026-13"), "report_period_invalid"),
            (("quarter", "2026-Q5"), "report_period_invalid"),
            (("month", "2027-02"), "report_period_future"),
            (("custom", None, dt.date(2026, 12, 5), dt.date(2026, 12, 1)), "period_reversed"),
            (("custom", None, dt.date(2025, 1, 1), dt.date(2026, 12, 31)), "period_too_long"),
        ):
            with pytest.raises(Refusal) as e:
                check_report_period(*args)  # type: ignore[arg-type]
            assert e.value.code == code, args
        assert check_report_period("custom", None, dt.date(2026, 12, 1), dt.date(2026, 12, 15)) == (
            dt.date(2026, 12, 1),
            dt.date(2026, 12, 15),
        )


def test_the_console_shows_the_job_progress_then_the_files(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    with time_machine.travel(REPORT_AT, tick=False), override_settings(LOA_JOBS_INLINE=False):
        client = client_for(make_user("xa_b", Role.COMMUNE_OPERATOR, world.tree["b"]))
        viewer = client_for(make_user("xem_b", Role.VIEWER, world.tree["b"]))
        page = client.get("/analytics/units/06658/reports/")
        assert page.status_code == 200 and b"data-report-form" in page.content
        assert b"data-report-form" not in viewer.get("/analytics/units/06658/reports/").content
        assert (
            viewer.post(
                "/analytics/units/06658/reports/", {"kind": "month", "period_month": "2026-12"}
            ).status_code
            == 403
        )
        r = client.post("/analytics/units/06658/reports/", {"kind": "quarter", "period_quarter": "2026-Q4"})
        assert r.status_code == 302
        report = Report.objects.get()
        assert (report.first, report.last) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
        waiting = client.get(f"/analytics/reports/{report.pk}/", headers={"HX-Request": "true"})
        assert b"<progress" in waiting.content and b'hx-trigger="every 1s"' in waiting.content
        assert client.get(f"/analytics/reports/{report.pk}/report.pdf").status_code == 409
        job = Job.objects.get(pk=report.job_id)
        run_job(job.pk, job.func, job.kwargs, 1, heartbeat=False)
        done = client.get(f"/analytics/reports/{report.pk}/")
        assert (
            b"<progress" not in done.content
            and f"/analytics/reports/{report.pk}/report.docx".encode() in done.content
        )
        assert Job.objects.get(pk=job.pk).progress == 100
        # the audit log recorded the request
        from loa.audit.models import AuditEntry

        assert AuditEntry.objects.filter(
            action="analytics.report_requested", object_id=str(report.pk)
        ).exists()


def test_the_monthly_job_makes_last_months_reports_once_and_notifies(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    simulate(world, incremental=True)
    operator = make_user("xa_b", Role.COMMUNE_OPERATOR, world.tree["b"])
    chief = make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"])
    make_user("xem_b", Role.VIEWER, world.tree["b"])  # may read, not responsible: no notice
    assert do_schedule_monthly_reports(now=at(dt.date(2027, 1, 1), 9)) == {"created": 0}  # the 1st: too early
    with time_machine.travel(at(dt.date(2027, 1, 2), 1), tick=False):
        assert do_schedule_monthly_reports() == {"created": 3}  # communes A and B, then the province
        assert do_schedule_monthly_reports() == {"created": 0}
        client = client_for(operator)
        chief_client = client_for(chief)
    reports = {r.unit.code: r for r in Report.objects.select_related("unit")}
    assert set(reports) == {"06652", "06658", "22"}
    assert all(r.scheduled and r.generated_at and (r.first, r.last) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
               for r in reports.values())  # fmt: skip
    assert set(reports["22"].snapshot["children_reports"]) == {"06652", "06658"}
    notices = {
        (n.report.unit.code, n.user.username)
        for n in ReportNotice.objects.select_related("report__unit", "user")
    }
    assert notices == {("06658", "xa_b"), ("22", "tinh")}
    page = client.get("/analytics/units/06658/reports/")
    assert b"data-report-notices" in page.content
    client.get(f"/analytics/reports/{reports['06658'].pk}/")
    assert b"data-report-notices" not in client.get("/analytics/units/06658/reports/").content
    assert chief_client.get(f"/analytics/reports/{reports['06652'].pk}/").status_code == 200
