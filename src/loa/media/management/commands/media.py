"""``loa media ingest FILE [--unit CODE] [--json]``: put an audio file into the library from a shell or script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loa.errors import Refusal
from loa.media.audio import MediaRejected


class Command(BaseCommand):
    help = (
        "Thư viện âm thanh: `loa media ingest TỆP [--unit MÃ] [--json]` kiểm tra, chuẩn hóa và lưu một tệp."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser(
            "ingest",
            help="kiểm tra, chuẩn hóa độ lớn (−16 LUFS), chuyển sang MP3 đơn kênh và lưu vào thư viện",
        )
        ingest.add_argument("file", help="tệp âm thanh (MP3, WAV, M4A, OGG, WebM, FLAC…)")
        ingest.add_argument(
            "--unit",
            default=None,
            help="mã đơn vị sở hữu (bỏ trống: tệp của hệ thống, chỉ quản trị hệ thống xem)",
        )
        ingest.add_argument("--name", default=None, help="tên hiển thị (mặc định: tên tệp)")
        ingest.add_argument("--json", action="store_true", help="in kết quả dạng JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from loa.media.services import asset_file_path, do_ingest_file
        from loa.units.models import Unit

        path = Path(options["file"])
        unit = None
        try:
            if options["unit"]:
                unit = Unit.objects.filter(code=options["unit"].strip()).first()
                if unit is None:
                    raise MediaRejected("unit_not_found", f"Không có đơn vị mã “{options['unit']}”.")
            asset = do_ingest_file(path, unit=unit, actor=None, original_name=options["name"] or path.name)
        except Refusal as exc:  # a bad file (MediaRejected) or a full store (storage_full)
            if options["json"]:
                error = {"code": exc.code, "message": exc.message, "details": exc.error_details()}
                self.stdout.write(json.dumps({"error": error}, ensure_ascii=False))
            raise CommandError(f"{exc.message} [{exc.code}]", returncode=2) from exc
        except OSError as exc:
            from loa.media.services import store_root
            from loa.media.storage import classify

            refusal = classify(exc, store_root())
            if refusal is exc or not isinstance(refusal, Refusal):
                raise
            if options["json"]:
                error = {"code": refusal.code, "message": refusal.message, "details": []}
                self.stdout.write(json.dumps({"error": error}, ensure_ascii=False))
            raise CommandError(f"{refusal.message} [{refusal.code}]", returncode=2) from exc
        info = {
            "id": asset.pk,
            "sha256": asset.sha256,
            "duration_s": asset.duration_s,
            "loudness_lufs": asset.loudness_lufs,
            "true_peak_dbtp": asset.true_peak_dbtp,
            "input_loudness_lufs": asset.input_loudness_lufs,
            "path": str(asset_file_path(asset).resolve()),
            "original_sha256": asset.original_sha256,
            "unit": asset.unit.code if asset.unit else None,
            "url": f"/media/files/{asset.sha256}.mp3",
        }
        if options["json"]:
            self.stdout.write(json.dumps(info, ensure_ascii=False))
        else:
            self.stdout.write(
                f"Đã lưu #{asset.pk}: {asset.duration_s:.1f} giây, {asset.loudness_lufs:.1f} LUFS → {info['path']}"
            )
