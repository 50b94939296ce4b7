"""``loa bench emergency`` prints where the API call's time goes: the stopwatch times the real steps (speech
engine, loudness passes, encode) and leaves the product's functions as they were."""

from __future__ import annotations

from pathlib import Path

from loa.broadcast.bench import _Stopwatch
from loa.media import audio
from loa.tts import services as tts


def test_stopwatch_times_the_real_speech_and_loudness_steps_then_restores_them(tmp_path: Path) -> None:
    originals = (tts._synthesize, audio._measure, audio._encode, audio._analyse_output)
    with _Stopwatch() as watch:
        tts.speak("Thông báo khẩn của ủy ban xã.", store_root=tmp_path, include_db=False)
    assert (tts._synthesize, audio._measure, audio._encode, audio._analyse_output) == originals
    out = watch.breakdown(api_s=sum(watch.seconds.values()) + 0.5)
    assert watch.calls["speech_s"] == 1 and out["speech_s"] > 0
    # the produced MP3 is always metered (the input too, unless the engine's level is known): one pass at least
    assert out["loudness_passes"] >= 1 and watch.calls["encode_s"] >= 1
    assert out["encode_s"] > 0 and out["output_check_s"] > 0
    assert out["api_other_s"] >= 0.5 - 1e-3
