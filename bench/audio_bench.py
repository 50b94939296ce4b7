"""Audio pipeline speed: validate + two-pass EBU R128 loudness + mono MP3 + verify, in × real time.

Builds real 10-minute inputs with ffmpeg (espeak-ng speech looped, as an operator would upload it) and runs
``loa.media.audio.process_audio`` on each. ``× real time`` = seconds of audio per second of wall time (budget:
≥ 50×, DESIGN §8); ``x_real_time_per_cpu_second`` divides by the CPU time of the ffmpeg children instead, which
does not depend on what else the machine runs. Prints JSON.

    LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/audio_bench.py [--minutes 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEXT = (
    "Ủy ban nhân dân xã thông báo: hồi mười ba giờ ngày hai mươi tháng bảy, tâm bão số ba ở vào khoảng mười chín "
    "phẩy năm độ vĩ Bắc. Đề nghị các hộ dân chằng chống nhà cửa, không ra khơi, di dời đến nơi an toàn."
)


def ffmpeg(exe: str, *args: str) -> None:
    subprocess.run([exe, "-hide_banner", "-v", "error", "-y", *args], check=True, timeout=600)


def make_inputs(exe: str, folder: Path, minutes: float) -> dict[str, Path]:
    seconds = minutes * 60
    speech = folder / "speech.wav"
    espeak = shutil.which("espeak-ng")
    if espeak:
        subprocess.run([espeak, "-v", "vi", "-w", str(speech), TEXT], check=True, timeout=60)
    else:
        ffmpeg(exe, "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.4:duration=10:seed=5",
               "-af", "tremolo=f=4:d=0.9", str(speech))  # fmt: skip
    inputs = {
        # a loud upload: speech with near-full-scale peaks, stereo MP3 128k (the limiter path)
        "speech_mp3_stereo_loud": folder / "loud.mp3",
        # a quiet phone recording with a noise bed, AAC in M4A (the limiter path as well: speech crest factor)
        "speech_m4a_quiet_noisy": folder / "quiet.m4a",
        # a soft programme with a low crest factor, WAV (the plain-gain path)
        "tone_wav_soft": folder / "soft.wav",
    }
    loop = ["-stream_loop", "-1", "-t", f"{seconds:.0f}", "-i", str(speech)]  # -t before -i: limits the input
    ffmpeg(exe, *loop, "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k",
           str(inputs["speech_mp3_stereo_loud"]))  # fmt: skip
    ffmpeg(exe, *loop, "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.01:duration={seconds:.0f}:seed=2",
           "-filter_complex", "[0:a]volume=-18dB[s];[s][1:a]amix=inputs=2:duration=shortest:normalize=0",
           "-ac", "1", "-ar", "48000", "-c:a", "aac", "-b:a", "64k", str(inputs["speech_m4a_quiet_noisy"]))  # fmt: skip
    ffmpeg(exe, "-f", "lavfi", "-i",
           f"aevalsrc=0.05*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*3*t))+0.02*sin(2*PI*1320*t):s=44100:d={seconds:.0f}",
           "-c:a", "pcm_s16le", str(inputs["tone_wav_soft"]))  # fmt: skip
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("LOA_DATA_DIR", tempfile.mkdtemp(prefix="loa-bench-"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from loa.media.audio import ffmpeg_path, process_audio

    exe = ffmpeg_path()
    work = Path(tempfile.mkdtemp(prefix="loa-audio-bench-"))
    try:
        inputs = make_inputs(exe, work, args.minutes)
        results = {}
        for name, src in inputs.items():
            runs: list[float] = []
            cpus: list[float] = []  # CPU seconds of the ffmpeg/ffprobe children: independent of other load
            last = None
            for _ in range(args.repeat):
                store = work / "store"
                shutil.rmtree(store, ignore_errors=True)
                cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                last = process_audio(src, store)
                runs.append(time.perf_counter() - started)
                cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(
                    cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
                )
            assert last is not None
            median = statistics.median(runs)
            results[name] = {
                "audio_s": last.duration_s,
                "input_bytes": src.stat().st_size,
                "seconds_median": round(median, 2),
                "seconds_all": [round(r, 2) for r in runs],
                "x_real_time": round(last.duration_s / median, 1),
                "ffmpeg_cpu_seconds_median": round(statistics.median(cpus), 2),
                "x_real_time_per_cpu_second": round(last.duration_s / statistics.median(cpus), 1),
                "input_lufs": last.input_loudness_lufs,
                "output_lufs": last.loudness_lufs,
                "output_true_peak_dbtp": last.true_peak_dbtp,
                "limited": last.limited,
                "ffmpeg_passes": last.passes,
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    version = subprocess.run([exe, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(json.dumps({
        "benchmark": "audio_pipeline",
        "budget_x_real_time": 50,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "ffmpeg": version, "load_avg": os.getloadavg()},
        "results": results,
    }, ensure_ascii=False, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
