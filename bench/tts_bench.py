"""TTS speed, end to end: normalization + espeak-ng synthesis + the media pipeline (loudness, MP3).

Prints JSON. ``× real time`` = seconds of audio produced per second of wall time (budget: ≥ 50×, DESIGN §8).

    LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/tts_bench.py [--repeat 5] [--voice north] [--engine espeak]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

PARAGRAPH = (
    "Ủy ban nhân dân xã thông báo: hồi 13 giờ ngày 20/7/2025, vị trí tâm bão số 3 ở vào khoảng 19,5 độ vĩ Bắc; "
    "108,2 độ kinh Đông. Sức gió mạnh nhất vùng gần tâm bão mạnh cấp 12 (118-133 km/h), giật cấp 15. "
    "Từ đêm 21/7 đến 23/7, khu vực có mưa to, lượng mưa phổ biến 100-200 mm, có nơi trên 300 mm. "
    "BCH PCTT và TKCN xã đề nghị các hộ dân chằng chống nhà cửa trước 17h ngày 20/7, không ra khơi, "
    "di dời 1.254 hộ ở vùng trũng thấp và ven sông đến nơi an toàn. Mức hỗ trợ là 1.500.000 đồng/hộ. "
    "Mọi thông tin xin liên hệ số điện thoại 0912 345 678 hoặc gọi 113, 114, 115 khi khẩn cấp. "
)


def bulletin(words: int) -> str:
    text = ""
    while len(text.split()) < words:
        text += PARAGRAPH
    return " ".join(text.split()[:words]).rstrip(",;") + "."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--voice", default="north")
    parser.add_argument("--speed", type=int, default=140)
    parser.add_argument("--engine", default="espeak")
    args = parser.parse_args()

    os.environ.setdefault("LOA_DATA_DIR", tempfile.mkdtemp(prefix="loa-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from loa.tts.engines import get_engine
    from loa.tts.normalize import normalize_vi
    from loa.tts.services import speak

    engine = get_engine(args.engine)
    results = {}
    for name, words in (("one_minute_bulletin", 150), ("bulletin_500_words", 500)):
        text = bulletin(words)
        runs = []
        store = Path(tempfile.mkdtemp(prefix="loa-bench-store-"))
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            spoken = speak(text, args.voice, args.speed, engine=engine, store_root=store, include_db=False)
            wall = time.perf_counter() - t0
            runs.append((wall, spoken))
        walls = [w for w, _ in runs]
        median_wall = statistics.median(walls)
        last = runs[-1][1]
        n0 = time.perf_counter()
        for _ in range(20):
            normalize_vi(text)
        normalize_s = (time.perf_counter() - n0) / 20
        results[name] = {
            "words": len(text.split()),
            "chars": len(text),
            "audio_s": last.audio.duration_s,
            "wall_s_median": round(median_wall, 3),
            "wall_s_min": round(min(walls), 3),
            "normalize_s": round(normalize_s, 4),
            "synthesize_s": round(last.seconds["synthesize_s"], 3),
            "process_s": round(last.seconds["process_s"], 3),
            "x_real_time_median": round(last.audio.duration_s / median_wall, 1),
            "x_real_time_synthesis_only": round(last.audio.duration_s / last.seconds["synthesize_s"], 1),
            "x_real_time_normalization_only": round(last.audio.duration_s / normalize_s, 0),
            "loudness_lufs": last.audio.loudness_lufs,
        }
    print(
        json.dumps(
            {
                "benchmark": "tts",
                "engine": engine.name,
                "backend": getattr(engine, "backend", ""),
                "voice": args.voice,
                "speed_wpm": args.speed,
                "repeat": args.repeat,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "results": results,
                "budget_x_real_time": 50,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
