"""``loa tts normalize`` and ``loa tts speak``, run as the operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.loa.tts.helpers import measure_mp3  # type: ignore[import-not-found]


def _loa(*args: str, data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LOA_DATA_DIR=str(data_dir))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "loa.cli", "tts", *args], capture_output=True, text=True, timeout=120, env=env,
        input=stdin,
    )  # fmt: skip


def test_normalize_prints_the_read_as_text(tmp_path: Path) -> None:
    result = _loa("normalize", "Bão số 3 gió cấp 12, giật cấp 15; liên hệ 0912 345 678.", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Bão số ba gió cấp mười hai, giật cấp mười lăm; liên hệ không chín một hai ba bốn năm sáu bảy tám."
    )
    piped = _loa("normalize", "-", data_dir=tmp_path, stdin="Ngày 01/7/2025")
    assert piped.stdout.strip() == "Ngày một tháng bảy năm hai nghìn không trăm hai mươi lăm"


def test_speak_writes_a_loudness_normalized_mono_mp3(tmp_path: Path) -> None:
    out = tmp_path / "thong-bao.mp3"
    result = _loa("speak", "UBND xã thông báo lịch tiêm phòng ngày 22/5.", "-o", str(out), "--voice", "central",
                  "--speed", "150", "--json", data_dir=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["path"] == str(out.resolve()) and info["voice"] == "central" and info["speed"] == 150
    channels, duration, lufs = measure_mp3(out)
    assert channels == 1 and duration > 2 and abs(duration - info["duration_s"]) < 0.2
    assert abs(lufs - (-16.0)) <= 1.0 and abs(lufs - info["loudness_lufs"]) <= 0.5


def test_speak_refuses_bad_input_with_a_vietnamese_message(tmp_path: Path) -> None:
    out = tmp_path / "x.mp3"
    folder = tmp_path / "thu-muc.mp3"
    folder.mkdir()
    cases = [
        (["speak", "", "-o", str(out)], "để trống"),
        (["speak", "x" * 5001, "-o", str(out)], "vượt giới hạn 5.000 ký tự"),
        (["speak", "Xin chào", "-o", str(out), "--voice", "tay"], "Giọng đọc \u201ctay\u201d không có"),
        (["speak", "Xin chào", "-o", str(out), "--speed", "999"], "Tốc độ đọc phải từ 80 đến 260"),
        (["speak", "Xin chào", "-o", str(tmp_path / "x.wav")], "đuôi .mp3"),
        (["speak", "Xin chào", "-o", str(folder)], "là một thư mục"),
    ]
    for args, message in cases:
        result = _loa(*args, data_dir=tmp_path)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert not out.exists()
