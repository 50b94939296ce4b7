"""The documents of a periodic report, drawn from its snapshot alone (:func:`loa.analytics.reports.take_snapshot`):
the same snapshot gives the same bytes.

- XLSX (openpyxl, ADR 0010): a "Thông tin" sheet (what the figures were made from), one sheet per KPI group (real
  numbers, frozen header row), and the drill-down sheet with a total row as ``SUM`` formulas.
- PDF (WeasyPrint, ADR 0012) and DOCX (python-docx, ADR 0012): an administrative document in the layout of Decree
  30/2020/NĐ-CP (Appendix I): issuing body and number/symbol on the left, Quốc hiệu and Tiêu ngữ on the right, place
  and date, the title, the body (the KPIs by group, the figures of each commune or cluster with their sum, where
  the figures come from), recipients (Nơi nhận) and the signature block.

Every text cell of the XLSX goes through :func:`loa.exports.safe_cell` (unit and cluster names are typed by people);
HTML is escaped by the template engine.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from loa.exports import safe_cell

NATIONAL = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SYMBOL = "BC-UBND"  # báo cáo of a People's Committee (Decree 30/2020, Appendix III)
RATE_COLUMNS = (3, 6)  # 0-based columns of the drill-down that are rates (never summed)
FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"))
FONT_FILES = {
    "Noto": (
        "NotoSerif-Regular.ttf",
        "NotoSerif-Bold.ttf",
        "NotoSerif-Italic.ttf",
        "NotoSerif-BoldItalic.ttf",
    ),
    "DejaVu": (
        "DejaVuSerif.ttf",
        "DejaVuSerif-Bold.ttf",
        "DejaVuSerif-Italic.ttf",
        "DejaVuSerif-BoldItalic.ttf",
    ),
}


def render(snapshot: dict[str, Any], fmt: str) -> bytes:
    if fmt == "xlsx":
        return workbook(snapshot)
    if fmt == "pdf":
        return pdf(snapshot)
    if fmt == "docx":
        return docx(snapshot)
    raise ValueError(fmt)


# ---- what the three formats share ------------------------------------------------------------------------------


def generated_at(snapshot: dict[str, Any]) -> dt.datetime:
    from loa.broadcast.recurrence import LOCAL_TZ

    return dt.datetime.fromisoformat(snapshot["generated_at"]).astimezone(LOCAL_TZ)


def date_line(snapshot: dict[str, Any]) -> str:
    """ "Hà Tu, ngày 05 tháng 01 năm 2027": days below 10 and months 1 and 2 take a leading zero (Decree 30/2020)."""
    d = generated_at(snapshot).date()
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"{snapshot['unit']['place']}, ngày {d.day:02d} tháng {month} năm {d.year}"


def number_line(snapshot: dict[str, Any]) -> str:
    """ "Số: 12/BC-UBND"; without a number the space the clerk fills in when the report is issued."""
    number = (snapshot.get("number") or "").strip()
    if not number:
        return f"Số:       /{SYMBOL}"
    return f"Số: {number}" if "/" in number else f"Số: {number}/{SYMBOL}"


def title(snapshot: dict[str, Any]) -> str:
    return f"Kết quả hoạt động thông tin cơ sở {snapshot['period_words']}"


def issuer(snapshot: dict[str, Any]) -> tuple[str, str]:
    """The issuing body in capitals on two lines ("ỦY BAN NHÂN DÂN" / "PHƯỜNG HÀ TU"): a People's Committee issues
    in its own name, with no governing body line above it."""
    return "ỦY BAN NHÂN DÂN", snapshot["unit"]["full_name"].upper()


def fmt_number(v: Any) -> str:
    """Vietnamese number format: 1.234,5 (thousands with '.', decimals with ',')."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}".replace(",", ".")
    if isinstance(v, float):
        text = f"{v:,.3f}".rstrip("0").rstrip(".")
        return text.replace(",", "_").replace(".", ",").replace("_", ".")
    return str(v)


def ordered_groups(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    """The snapshot's KPI groups in the order the KPIs define them (not the stored object's key order, which
    PostgreSQL's jsonb changes), so a report drawn again from the database is the same document."""
    from loa.analytics.kpis import GROUPS

    names: dict[str, str] = snapshot["groups"]
    known = [(g, names[g]) for g in GROUPS if g in names]
    return known + sorted((g, n) for g, n in names.items() if g not in GROUPS)


def kpi_sections(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, (group, name) in enumerate(ordered_groups(snapshot), start=1):
        items = [k for k in snapshot["kpis"] if k["group"] == group]
        out.append({"n": i, "name": name, "items": items})
    return out


def drill_total(snapshot: dict[str, Any]) -> list[Any]:
    """The sum row of the drill-down (rates are not summed; a blank cell)."""
    rows = snapshot["rows"]
    total: list[Any] = [_("Tổng"), ""]
    for col in range(2, len(snapshot["header"])):
        if col in RATE_COLUMNS:
            total.append(None)
            continue
        values = [r[col] for r in rows if isinstance(r[col], (int, float)) and not isinstance(r[col], bool)]
        s = sum(values)
        total.append(round(s, 3) if isinstance(s, float) else s)
    return total


def drill_title(snapshot: dict[str, Any]) -> str:
    level = snapshot["unit"]["level"]
    if level == 1:
        return _("Số liệu theo xã, phường, đặc khu")
    if level == 2:
        return _("Số liệu theo thôn, tổ dân phố và cụm loa")
    return _("Số liệu theo cụm loa")


def source_lines(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    s = snapshot["source"]
    first = dt.date.fromisoformat(snapshot["first"])
    last = dt.date.fromisoformat(snapshot["last"])
    return [
        (_("Đơn vị"), f"{snapshot['unit']['full_name']} (mã {snapshot['unit']['code']})"),
        (_("Kỳ báo cáo"), f"{first:%d/%m/%Y} – {last:%d/%m/%Y} (giờ Việt Nam)"),
        (
            _("Số liệu từ"),
            _("bảng tổng hợp theo ngày: %(rows)s dòng, %(days)s ngày có số liệu, tổng giá trị %(sum)s")
            % {
                "rows": fmt_number(s["rollup_rows"]),
                "days": s["rollup_days"],
                "sum": fmt_number(s["rollup_sum"]),
            },
        ),
        (_("Lập lúc"), generated_at(snapshot).strftime("%d/%m/%Y %H:%M:%S")),
        (_("Lập lại số liệu"), s["command"]),
        (_("Mã báo cáo"), f"#{snapshot['report_id']}" if snapshot.get("report_id") else "—"),
    ]


def _zip_fixed(data: bytes, when: dt.datetime) -> bytes:
    """The same zip with every entry dated ``when`` (openpyxl and python-docx date entries with the clock)."""
    stamp = when.replace(tzinfo=None).timetuple()[:6]
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


# ---- XLSX ---------------------------------------------------------------------------------------------------


def _sheet_title(text: str) -> str:
    return re.sub(r"[\\/*?:\[\]]", " ", text)[:31]


def workbook(snapshot: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)

    def header(ws: Any, names: list[str], widths: list[int]) -> None:
        ws.append([safe_cell(n) for n in names])
        for i, w in enumerate(widths, start=1):
            ws.cell(row=1, column=i).font = bold
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "A2"

    when = generated_at(snapshot)
    wb = Workbook()
    wb.properties.creator = "Loa"
    wb.properties.created = wb.properties.modified = when.replace(tzinfo=None)
    info = wb.active
    assert info is not None
    info.title = _sheet_title(_("Thông tin"))
    header(info, [_("Mục"), _("Nội dung")], [28, 80])
    first, last = dt.date.fromisoformat(snapshot["first"]), dt.date.fromisoformat(snapshot["last"])
    for k, v in (
        (_("Đơn vị"), f"{snapshot['unit']['name']} ({snapshot['unit']['code']})"),
        (_("Từ ngày"), first),
        (_("Đến ngày"), last),
        (_("Báo cáo"), title(snapshot)),
        (_("Số, ký hiệu"), number_line(snapshot)),
        (_("Lập lúc"), when.strftime("%d/%m/%Y %H:%M")),
        (_("Số liệu từ"), _("bảng tổng hợp theo ngày (giờ Việt Nam), %(n)d dòng") % {"n": snapshot["source"]["rollup_rows"]}),
        (_("Tổng giá trị các dòng"), snapshot["source"]["rollup_sum"]),
        (_("Lập lại số liệu"), snapshot["source"]["command"]),
    ):  # fmt: skip
        info.append([safe_cell(k), v if isinstance(v, (dt.date, float, int)) else safe_cell(v)])
        if isinstance(v, dt.date):
            info.cell(row=info.max_row, column=2).number_format = "DD/MM/YYYY"
    for group, group_name in ordered_groups(snapshot):
        ws = wb.create_sheet(_sheet_title(group_name))
        header(ws, [_("Mã chỉ số"), _("Chỉ số"), _("Nhóm"), _("Giá trị"), _("Đơn vị tính"), _("Cách tính")],
               [24, 48, 36, 14, 12, 80])  # fmt: skip
        for kpi in (k for k in snapshot["kpis"] if k["group"] == group):
            parts = kpi["breakdown"] if "breakdown" in kpi else [["", kpi["value"]]]
            for part, number in parts:
                ws.append([kpi["key"], safe_cell(kpi["name"]), safe_cell(part), number, safe_cell(kpi["unit"]),
                           safe_cell(kpi["formula"])])  # fmt: skip
    level = snapshot["unit"]["level"]
    by = _("Theo xã") if level == 1 else _("Theo thôn và cụm loa") if level == 2 else _("Theo cụm loa")
    ws = wb.create_sheet(_sheet_title(by))
    header(ws, snapshot["header"], [18, 36, 12, 16, 14, 14, 18, 16, 18, 14, 18])
    rows = snapshot["rows"]
    for r in rows:
        ws.append([safe_cell(r[0]), safe_cell(r[1]), *r[2 : len(snapshot["header"])]])
    if rows:
        n = len(rows) + 1
        total: list[object] = [_("Tổng"), ""]
        for col in range(3, len(snapshot["header"]) + 1):
            letter = get_column_letter(col)
            total.append(None if col - 1 in RATE_COLUMNS else f"=SUM({letter}2:{letter}{n})")
        ws.append(total)
        for c in ws[ws.max_row]:
            c.font = bold
    out = io.BytesIO()
    wb.save(out)
    return _zip_fixed(out.getvalue(), when)


# ---- PDF ----------------------------------------------------------------------------------------------------


def font_faces() -> list[dict[str, str]]:
    """``@font-face`` rules for the bundled serif (Noto Serif from fonts-noto-core, else DejaVu Serif)."""
    for folder in FONT_DIRS:
        family = "Noto" if "noto" in folder.name else "DejaVu"
        files = [folder / f for f in FONT_FILES[family]]
        if files[0].exists() and files[1].exists():
            faces = []
            for path, weight, style in zip(
                files,
                ("normal", "bold", "normal", "bold"),
                ("normal", "normal", "italic", "italic"),
                strict=True,
            ):
                if path.exists():
                    faces.append({"url": path.as_uri(), "weight": weight, "style": style})
            return faces
    raise RuntimeError(
        "Thiếu phông chữ cho báo cáo PDF: cài gói fonts-noto-core (scripts/install_system.sh demo)."
    )


def document_context(snapshot: dict[str, Any]) -> dict[str, Any]:
    body_line, unit_line = issuer(snapshot)
    rows = snapshot["rows"]
    width = len(snapshot["header"])
    return {
        "s": snapshot,
        "national": NATIONAL,
        "motto": MOTTO,
        "issuer_body": body_line,
        "issuer_unit": unit_line,
        "number_line": number_line(snapshot),
        "date_line": date_line(snapshot),
        "title": title(snapshot),
        "sections": [
            {
                **sec,
                "items": [
                    {
                        **k,
                        "text": fmt_number(k["value"]),
                        "parts": [(p, fmt_number(v)) for p, v in k.get("breakdown", [])],
                    }
                    for k in sec["items"]
                ],
            }
            for sec in kpi_sections(snapshot)
        ],
        "drill_title": drill_title(snapshot),
        "header": snapshot["header"],
        "rows": [[fmt_number(c) for c in r[:width]] for r in rows],
        "total": [fmt_number(c) if c is not None else "" for c in drill_total(snapshot)] if rows else [],
        "children_reports": snapshot.get("children_reports", {}),
        "source": source_lines(snapshot),
        "fonts": font_faces(),
    }


def _weasyprint() -> Any:
    """WeasyPrint, imported without its side effect: at import it sets Pillow's process-wide
    ``ImageFile.LOAD_TRUNCATED_IMAGES``, after which every image check in the process (board screenshots,
    bulletin images, citizens' photos) would take a file cut in the middle. Our own images are checked whole
    before they are stored, so the report needs no such leniency."""
    import weasyprint
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return weasyprint


def pdf(snapshot: dict[str, Any]) -> bytes:
    weasyprint = _weasyprint()

    html = render_to_string("analytics/report_document.html", document_context(snapshot))
    doc = weasyprint.HTML(string=html, base_url=None)
    return bytes(doc.write_pdf(pdf_identifier=snapshot["generated_at"].encode()))


# ---- DOCX ---------------------------------------------------------------------------------------------------


def docx(snapshot: dict[str, Any]) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    when = generated_at(snapshot)
    doc = Document()
    props = doc.core_properties
    props.author = props.last_modified_by = "Loa"
    props.created = props.modified = when.astimezone(dt.UTC).replace(tzinfo=None)
    props.revision = 1
    props.title = title(snapshot)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), "Times New Roman")
    normal.paragraph_format.space_after = Pt(0)

    def para(cell_or_doc: Any, text: str = "", *, bold: bool = False, italic: bool = False, size: float = 13,
             align: Any = None, upper: bool = False, underline: bool = False) -> Any:  # fmt: skip
        p = cell_or_doc.add_paragraph()
        if align is not None:
            p.alignment = align
        run = p.add_run(text.upper() if upper else text)
        run.bold, run.italic, run.underline = bold, italic, underline
        run.font.size = Pt(size)
        return p

    center = WD_ALIGN_PARAGRAPH.CENTER
    body_line, unit_line = issuer(snapshot)
    head = doc.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = head.rows[0].cells
    left.width, right.width = Mm(65), Mm(100)
    left.paragraphs[0].text = ""
    para(left, body_line, bold=True, size=12, align=center)
    para(left, unit_line, bold=True, size=12, align=center)
    para(left, "———", size=10, align=center)
    para(left, number_line(snapshot), size=13, align=center)
    right.paragraphs[0].text = ""
    para(right, NATIONAL, bold=True, size=12, align=center)
    para(right, MOTTO, bold=True, size=13, align=center, underline=True)
    para(right, "", size=6)
    para(right, date_line(snapshot), italic=True, size=13, align=center)
    para(doc, "")
    para(doc, "BÁO CÁO", bold=True, size=14, align=center)
    para(doc, title(snapshot), bold=True, size=14, align=center)
    para(doc, "———", size=10, align=center)
    para(doc, _("%(issuer)s báo cáo kết quả hoạt động thông tin cơ sở %(period)s như sau:")
         % {"issuer": f"Ủy ban nhân dân {snapshot['unit']['full_name']}", "period": snapshot["period_words"]})  # fmt: skip

    para(doc, _("I. CÁC CHỈ SỐ"), bold=True)
    for sec in kpi_sections(snapshot):
        para(doc, f"{sec['n']}. {sec['name']}", bold=True)
        t = doc.add_table(rows=1, cols=3)
        t.style = "Table Grid"
        for c, h in zip(t.rows[0].cells, (_("Chỉ số"), _("Giá trị"), _("Đơn vị tính")), strict=True):
            c.text = h
            c.paragraphs[0].runs[0].bold = True
        for k in sec["items"]:
            cells = t.add_row().cells
            cells[0].text, cells[1].text, cells[2].text = k["name"], fmt_number(k["value"]), k["unit"]
            for part, v in k.get("breakdown", []):
                sub = t.add_row().cells
                sub[0].text, sub[1].text, sub[2].text = f"    – {part}", fmt_number(v), k["unit"]
        for row in t.rows:
            for c in row.cells:
                for p in c.paragraphs:
                    for r in p.runs:
                        r.font.size = Pt(11)

    para(doc, f"II. {drill_title(snapshot).upper()}", bold=True)
    rows = snapshot["rows"]
    width = len(snapshot["header"])
    if rows:
        t = doc.add_table(rows=1, cols=width)
        t.style = "Table Grid"
        for c, h in zip(t.rows[0].cells, snapshot["header"], strict=True):
            c.text = h
            c.paragraphs[0].runs[0].bold = True
        for r in rows:
            for c, v in zip(t.add_row().cells, r[:width], strict=True):
                c.text = fmt_number(v)
        for c, v in zip(t.add_row().cells, drill_total(snapshot), strict=True):
            c.text = fmt_number(v) if v is not None else ""
            if c.paragraphs[0].runs:
                c.paragraphs[0].runs[0].bold = True
        for row in t.rows:
            for c in row.cells:
                for p in c.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(8)
    else:
        para(doc, _("Không có số liệu trong kỳ."))
    children = snapshot.get("children_reports") or {}
    if snapshot["unit"]["level"] == 1:
        done = ", ".join(f"{code} (#{r['id']})" for code, r in sorted(children.items())) or _("chưa có")
        para(
            doc, _("Báo cáo của các xã đã lập cho cùng kỳ: %(list)s.") % {"list": done}, italic=True, size=12
        )

    para(doc, _("III. NGUỒN SỐ LIỆU"), bold=True)
    for k, v in source_lines(snapshot):
        para(doc, f"{k}: {v}", size=12)
    para(doc, "")

    foot = doc.add_table(rows=1, cols=2)
    left, right = foot.rows[0].cells
    left.width, right.width = Mm(85), Mm(80)
    left.paragraphs[0].text = ""
    para(left, _("Nơi nhận:"), bold=True, italic=True, size=12)
    for line in snapshot["recipients"]:
        para(left, f"- {line}", size=11)
    right.paragraphs[0].text = ""
    para(right, _("TM. ỦY BAN NHÂN DÂN"), bold=True, size=13, align=center)
    para(right, snapshot.get("signer_title") or "CHỦ TỊCH", bold=True, size=13, align=center, upper=True)
    para(right, _("(Ký, ghi rõ họ tên, đóng dấu)"), italic=True, size=11, align=center)
    for _i in range(3):
        para(right, "")
    para(right, snapshot.get("signer_name") or "", bold=True, size=13, align=center)
    out = io.BytesIO()
    doc.save(out)
    return _zip_fixed(out.getvalue(), when)
