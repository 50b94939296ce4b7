"""Synthesize with the libespeak-ng shipped in the ``espeakng-loader`` wheel (no system package needed).

Run as a child process (``python -m loa.tts.espeak_lib VOICE SPEED OUT.wav``, text on stdin) so that the
caller can enforce a time limit by killing it: a C library running inside the server process could not be
stopped. Imports nothing from Django or the rest of Loa.
"""

from __future__ import annotations

import ctypes
import sys
import wave
from pathlib import Path

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE = 1
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_ENDPAUSE = 0x1000

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def synthesize_to_wav(text: str, voice: str, speed: int, out: Path) -> int:
    """Write ``text`` spoken by ``voice`` at ``speed`` words/minute to ``out`` (16-bit mono WAV)."""
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise RuntimeError("espeak_Initialize failed")
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise RuntimeError(f"unknown voice {voice}")
    lib.espeak_SetParameter(ESPEAK_RATE, int(speed), 0)
    chunks: list[bytes] = []

    def collect(wav: ctypes._Pointer[ctypes.c_short], numsamples: int, events: int) -> int:
        if numsamples > 0 and wav:
            chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0

    callback = _CALLBACK(collect)
    lib.espeak_SetSynthCallback(callback)
    data = text.encode("utf-8") + b"\0"
    buf = ctypes.create_string_buffer(data)
    flags = ESPEAK_CHARS_UTF8 | ESPEAK_ENDPAUSE
    if lib.espeak_Synth(buf, len(data), 0, POS_CHARACTER, 0, flags, None, None) != 0:
        raise RuntimeError("espeak_Synth failed")
    lib.espeak_Synchronize()
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(chunks))
    return rate


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m loa.tts.espeak_lib VOICE SPEED OUT.wav < text", file=sys.stderr)
        return 2
    voice, speed, out = argv
    text = sys.stdin.buffer.read().decode("utf-8")
    try:
        synthesize_to_wav(text, voice, int(speed), Path(out))
    except Exception as exc:
        print(f"espeak-ng library: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through a child process in the tests
    raise SystemExit(main(sys.argv[1:]))
