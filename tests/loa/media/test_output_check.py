"""The output check overlapped with the encode (``_encode_and_analyse``): the meter's ffmpeg starts with the
encoder and reads the finished MP3 from a pipe. It must say exactly what the check of the stored file says."""

from __future__ import annotations

import concurrent.futures
import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from loa.media import audio

from .conftest import ffmpeg


@pytest.mark.parametrize("speech", [True, False], ids=["speech-format", "device-format"])
@pytest.mark.parametrize("name", ["wav", "mp3", "ogg", "quiet_wav"])
def test_the_overlapped_check_says_what_the_check_of_the_stored_file_says(
    name: str, speech: bool, sources: dict[str, Path], tmp_path: Path
) -> None:
    src = sources[name]
    info = audio.probe(src, decode=False)
    out = tmp_path / "out.mp3"
    deadline = time.monotonic() + 60
    chain = audio._chain(4.0, -3.0)
    overlapped = audio._encode_and_analyse(
        src, info.demuxer, chain, out, duration_s=info.duration_s, deadline=deadline, speech=speech
    )
    rate = audio.output_format(speech)[0]
    of_file = audio._analyse_output(out, deadline=deadline, rate=rate)
    assert overlapped == of_file  # loudness, true peak, duration and every waveform point
    assert audio.mp3_gapless_samples(out) == (round(overlapped.duration_s * rate), rate)


def _decoded_samples(path: Path, tmp_path: Path) -> tuple[int, int]:
    wav = tmp_path / "decoded.wav"
    ffmpeg("-i", str(path), "-c:a", "pcm_s16le", str(wav))
    data, rate = soundfile.read(str(wav), dtype="int16")
    wav.unlink()
    return int(np.asarray(data).shape[0]), int(rate)


@pytest.mark.parametrize(
    ("rate", "bitrate", "channels"),
    [(22050, "48k", 1), (44100, "128k", 1), (48000, "96k", 2), (16000, "32k", 1), (11025, "24k", 1)],
)
def test_the_lame_tag_gives_the_samples_a_gapless_decoder_plays(
    rate: int, bitrate: str, channels: int, sources: dict[str, Path], tmp_path: Path
) -> None:
    """MPEG-1, MPEG-2 and MPEG-2.5, mono and stereo: the count read from the tag is what ffmpeg decodes."""
    out = tmp_path / "tagged.mp3"
    ffmpeg(
        "-i", str(sources["wav"]), "-ac", str(channels), "-ar", str(rate), "-c:a", "libmp3lame", "-b:a", bitrate,
        "-id3v2_version", "0", "-write_xing", "1", "-f", "mp3", str(out),
    )  # fmt: skip
    assert audio.mp3_gapless_samples(out) == _decoded_samples(out, tmp_path)


def test_no_tag_no_count(sources: dict[str, Path], tmp_path: Path) -> None:
    untagged = tmp_path / "untagged.mp3"
    ffmpeg(
        "-i",
        str(sources["wav"]),
        "-c:a",
        "libmp3lame",
        "-write_xing",
        "0",
        "-id3v2_version",
        "0",
        str(untagged),
    )
    with_id3 = tmp_path / "id3.mp3"
    ffmpeg("-i", str(sources["wav"]), "-c:a", "libmp3lame", "-id3v2_version", "3", str(with_id3))
    for path in (untagged, with_id3, sources["wav"], sources["ogg"]):
        assert audio.mp3_gapless_samples(path) is None, path
    short = tmp_path / "short.mp3"
    short.write_bytes(b"\xff\xfb")
    assert audio.mp3_gapless_samples(short) is None


def _meters_of_this_process() -> list[int]:
    """This process's children that are an output check's ffmpeg reading a pipe."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            ppid = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
            cmdline = (status.parent / "cmdline").read_bytes()
        except (OSError, StopIteration):
            continue
        if int(ppid.split()[1]) == os.getpid() and b"ebur128" in cmdline and b"pipe:0" in cmdline:
            found.append(int(status.parent.name))
    return found


def test_a_failed_encode_stops_the_waiting_meter_and_is_the_error_reported(tmp_path: Path) -> None:
    not_audio = tmp_path / "loa-test-no-such-input.wav"
    not_audio.write_bytes(b"RIFF" + b"\0" * 64)
    out = tmp_path / "out.mp3"
    started = time.monotonic()
    with pytest.raises(audio.MediaRejected) as refused:
        audio._encode_and_analyse(
            not_audio, "wav", audio._chain(0.0, None), out, duration_s=1.0, deadline=started + 30
        )
    assert refused.value.code == "corrupt"
    assert time.monotonic() - started < 10  # the meter did not wait out the deadline
    assert _meters_of_this_process() == []


def test_a_meter_that_is_never_fed_is_killed_at_the_deadline() -> None:
    never: concurrent.futures.Future[Path] = concurrent.futures.Future()
    started = time.monotonic()
    with pytest.raises(audio.MediaRejected) as refused:
        audio._analyse_output(Path("unused.mp3"), deadline=started + 1.0, rate=22050, encoded=never)
    assert refused.value.code == "timeout"
    assert time.monotonic() - started < 5
