"""Seed: the feedback categories every unit starts with, and Vietnam's 2026 public holidays (editable in the back
office; check them against the government's yearly notice on days off and swapped working days)."""

import datetime as dt

from django.db import migrations

CATEGORIES = [
    # code, name, ack hours, answer hours, remind hours, retention days, about loudspeakers
    ("thien-tai", "Thiên tai, sự cố khẩn cấp", 2, 4, 1, 365, False),
    ("an-ninh-trat-tu", "An ninh, trật tự", 4, 16, 4, 365, False),
    ("ha-tang", "Hạ tầng, giao thông, điện chiếu sáng", 8, 40, 8, 365, False),
    ("moi-truong", "Môi trường, rác thải, vệ sinh", 8, 40, 8, 365, False),
    ("loa-truyen-thanh", "Loa truyền thanh (ồn, hỏng, sai giờ)", 8, 24, 4, 365, True),
    ("thu-tuc-hanh-chinh", "Thủ tục hành chính, dịch vụ công", 8, 40, 8, 365, False),
    ("khac", "Khác", 8, 40, 8, 365, False),
]

HOLIDAYS_2026 = [
    (dt.date(2026, 1, 1), "Tết Dương lịch"),
    *[(dt.date(2026, 2, d), "Tết Nguyên đán Bính Ngọ") for d in range(14, 23)],
    (dt.date(2026, 4, 26), "Giỗ Tổ Hùng Vương (10/3 âm lịch)"),
    (dt.date(2026, 4, 27), "Nghỉ bù Giỗ Tổ Hùng Vương"),
    (dt.date(2026, 4, 30), "Ngày Chiến thắng"),
    (dt.date(2026, 5, 1), "Ngày Quốc tế Lao động"),
    (dt.date(2026, 9, 1), "Quốc khánh (ngày liền kề)"),
    (dt.date(2026, 9, 2), "Quốc khánh"),
]


def seed(apps, schema_editor):
    Category = apps.get_model("citizen", "FeedbackCategory")
    CalendarDay = apps.get_model("citizen", "CalendarDay")
    for position, (code, name, ack, answer, remind, keep, loud) in enumerate(CATEGORIES):
        Category.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "ack_hours": ack, "answer_hours": answer, "remind_hours": remind,
                "retention_days": keep, "about_loudspeakers": loud, "position": position * 10,
            },
        )
    for day, name in HOLIDAYS_2026:
        CalendarDay.objects.get_or_create(date=day, defaults={"name": name, "is_working": False})


class Migration(migrations.Migration):
    dependencies = [("citizen", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
