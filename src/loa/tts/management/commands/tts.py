"""``loa tts normalize "TEXT"`` and ``loa tts speak "TEXT" -o FILE.mp3``: Vietnamese text-to-speech.

``loa tts normalize`` normally never gets here: ``loa.cli`` runs :mod:`loa.tts.normalize_cli` without Django. This
command handles it with ``--db`` (the editors' abbreviations) or a Django option, through the same code.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from loa.tts import normalize_cli
from loa.tts.engines import DEFAULT_SPEED, VOICES, TtsError
from loa.tts.normalize_cli import DESCRIPTION
from loa.tts.normalize_cli import add_arguments as add_normalize_arguments


def _text(value: str) -> str:
    if value == "-":
        return sys.stdin.read()
    return value


class Command(BaseCommand):
    help = 'Chuyển văn bản thành giọng nói: `loa tts normalize "…"` in văn bản đọc; `loa tts speak "…" -o tep.mp3`.'

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        norm = sub.add_parser(
            "normalize",
            help="in văn bản sẽ được đọc (số, ngày, giờ, viết tắt thành chữ)",
            description=DESCRIPTION,
        )
        add_normalize_arguments(norm)
        speak = sub.add_parser("speak", help="đọc văn bản thành tệp MP3 đã chuẩn hóa độ lớn")
        speak.add_argument("text", help='văn bản; "-" để đọc từ stdin')
        speak.add_argument("-o", "--output", required=True, help="tệp MP3 cần ghi")
        speak.add_argument("--voice", default="north", help=f"giọng: {', '.join(VOICES)} (mặc định north)")
        speak.add_argument(
            "--speed", default=str(DEFAULT_SPEED), help=f"tốc độ, từ/phút (mặc định {DEFAULT_SPEED})"
        )
        speak.add_argument("--read-as", default=None, help="đọc đúng nội dung này thay vì tự chuyển văn bản")
        speak.add_argument("--json", action="store_true", help="in kết quả dạng JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from loa.tts import services

        try:
            if options["action"] == "normalize":
                self._normalize(services, options)
                return
            self._speak(services, options)
        except TtsError as exc:
            raise CommandError(exc.message, returncode=2) from exc

    def _normalize(self, services: Any, options: dict[str, Any]) -> None:
        """Reached with ``--db`` or a Django option (``loa.cli`` runs the rest without Django): same output."""
        extra: dict[str, str] | None = None
        if options["db"]:
            try:
                extra = services.abbreviations(include_db=True)
            except DatabaseError as exc:
                raise CommandError(
                    "Không đọc được bảng viết tắt trong cơ sở dữ liệu (đã chạy `loa migrate` chưa?).",
                    returncode=2,
                ) from exc
        self.stdout.flush()
        status = normalize_cli.run(argparse.Namespace(text=options["text"], db=options["db"]), extra=extra)
        if status:
            raise SystemExit(status)

    def _speak(self, services: Any, options: dict[str, Any]) -> None:
        out = Path(options["output"])
        if out.suffix.lower() != ".mp3":
            raise TtsError("output_not_mp3", "Tệp ra phải có đuôi .mp3 (âm thanh đã xử lý là MP3 mono).")
        if not out.parent.exists():
            raise TtsError("output_folder_missing", f"Thư mục {out.parent} không tồn tại.")
        if out.is_dir():
            raise TtsError("output_is_folder", f"{out} là một thư mục; hãy cho tên một tệp .mp3.")
        store = Path(tempfile.mkdtemp(prefix="loa-tts-store-"))
        try:
            spoken = services.speak(
                _text(options["text"]), options["voice"], options["speed"], read_as=options["read_as"],
                store_root=store,
            )  # fmt: skip
            try:
                shutil.copyfile(spoken.audio.path, out)
            except OSError as exc:
                raise TtsError("output_write_failed", f"Không ghi được tệp {out}: {exc.strerror}.") from exc
        finally:
            shutil.rmtree(store, ignore_errors=True)
        info = {
            "path": str(out.resolve()),
            "sha256": spoken.audio.sha256,
            "duration_s": spoken.audio.duration_s,
            "loudness_lufs": spoken.audio.loudness_lufs,
            "true_peak_dbtp": spoken.audio.true_peak_dbtp,
            "voice": spoken.voice,
            "speed": spoken.speed,
            "engine": spoken.engine,
            "read_as": spoken.read_as,
        }
        if options["json"]:
            self.stdout.write(json.dumps(info, ensure_ascii=False))
        else:
            self.stdout.write(
                f"Đã ghi {out} ({spoken.audio.duration_s:.1f} giây, {spoken.audio.loudness_lufs:.1f} LUFS, "
                f"giọng {VOICES[spoken.voice].label.lower()})."
            )
