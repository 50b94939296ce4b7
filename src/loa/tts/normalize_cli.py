"""``loa tts normalize``: the "read as" text of a notice, fast enough for scripts.

``loa.cli`` runs this module for ``loa tts normalize`` without importing Django (start-up ≈ 0.15 s instead of
1–4 s), so it imports nothing but :mod:`loa.tts.normalize` and the standard library. It reads the bundled
abbreviation table only; ``--db`` (the table editors keep in the database) goes through the Django management
command, which calls :func:`run` with that table.

    loa tts normalize "Ngày 22/5, 7h-11h"      # one text, printed normalized
    loa tts normalize - < notices.txt          # one normalized line per input line, in order
    cat notices.txt | loa tts normalize        # the same: no text and stdin is not a terminal

Bad input (empty text, too long, control characters, invalid UTF-8, unreadable stdin) prints a Vietnamese message on
stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from typing import IO

DEFAULT_MAX_CHARS = 5000
USAGE_ERROR = 2

DESCRIPTION = (
    'In văn bản sẽ được đọc (số, ngày, giờ, đơn vị, viết tắt thành chữ). Không có văn bản, hoặc văn bản "-": '
    "đọc từ stdin, mỗi dòng vào cho đúng một dòng ra, theo thứ tự (dòng trống giữ nguyên). "
    "Mặc định dùng bảng viết tắt có sẵn của Loa (không cần cơ sở dữ liệu, khởi động nhanh); "
    "--db dùng thêm các từ viết tắt biên tập viên đã nhập (chậm hơn, cần cơ sở dữ liệu)."
)


class InputError(Exception):
    """Input the command cannot read; ``message`` is Vietnamese, for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def build_parser(prog: str = "loa tts normalize") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text",
        nargs="?",
        default=None,
        help='văn bản cần chuẩn hóa; "-" hoặc bỏ trống để đọc từng dòng từ stdin',
    )
    parser.add_argument(
        "--db",
        action="store_true",
        help="dùng thêm bảng viết tắt trong cơ sở dữ liệu (qua Django, khởi động chậm hơn)",
    )


def max_chars() -> int:
    try:
        return int(os.environ.get("LOA_TTS_MAX_CHARS") or DEFAULT_MAX_CHARS)
    except ValueError:
        return DEFAULT_MAX_CHARS


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # 5.000, as Vietnamese writes it


def check_text(text: str, limit: int, where: str = "Văn bản cần đọc") -> str:
    """NFC and trimmed; refuse control characters and text over ``limit`` (the same rules as the services)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n")
    if len(text) > limit:
        raise InputError(
            f"{where} dài {_thousands(len(text))} ký tự, vượt giới hạn {_thousands(limit)} ký tự. "
            "Hãy chia thành nhiều đoạn ngắn hơn."
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InputError(f"{where} chứa ký tự điều khiển không hợp lệ.")
    if any(unicodedata.category(ch) == "Cs" for ch in text):  # bytes of an argument that were not UTF-8
        raise InputError(f"{where} không phải văn bản UTF-8 hợp lệ.")
    return text.strip()


def normalize_text(text: str, extra: Mapping[str, str] | None = None) -> str:
    """One text (the argument form): refused when empty or when nothing in it can be read."""
    from loa.tts.normalize import normalize_vi

    text = check_text(text, max_chars())
    if not text:
        raise InputError("Văn bản cần đọc đang để trống. Hãy nhập nội dung cần đọc.")
    read_as = normalize_vi(text, extra)
    if not read_as.strip():
        raise InputError("Văn bản không có chữ nào đọc được.")
    return read_as


_BLOCK_BYTES = 1 << 18  # one read: up to 256 KiB, or what a pipe holds right now


def _blocks(stream: IO[bytes]) -> Iterator[list[bytes]]:
    """The complete lines of ``stream`` as they arrive, a block per read (without their ``\\n``).

    A pipe returns what is in it, so a script that writes one line and waits gets its answer; a file comes in
    256 KiB blocks. A read error (a device that fails, a descriptor not open for reading) is an :class:`InputError`.
    """
    tail = b""
    while True:
        try:
            chunk = stream.read1(_BLOCK_BYTES) if hasattr(stream, "read1") else stream.read(_BLOCK_BYTES)
        except OSError as exc:
            raise InputError(f"Không đọc được đầu vào: {exc.strerror or exc}.") from None
        if not chunk:
            if tail:
                yield [tail]
            return
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        if lines:
            yield lines


def _normalize_block(
    first: int, lines: list[bytes], extra: Mapping[str, str] | None, limit: int
) -> tuple[list[str], str | None]:
    """The readings of a block of lines numbered from ``first``; stops at the first bad line with its message."""
    from loa.tts.normalize import normalize_vi

    out: list[str] = []
    for number, raw in enumerate(lines, start=first):
        try:
            line = check_text(raw.decode("utf-8").rstrip("\r"), limit, where=f"Dòng {number}")
        except UnicodeDecodeError:
            return (
                out,
                f"Dòng {number} của đầu vào không phải văn bản UTF-8 hợp lệ; hãy lưu tệp ở dạng UTF-8.",
            )
        except InputError as exc:
            return out, exc.message
        out.append(normalize_vi(line, extra).replace("\n", " ") if line else "")
    return out, None


def normalize_lines(stream: IO[bytes], out: IO[bytes], extra: Mapping[str, str] | None = None) -> int:
    """Normalize each UTF-8 line of ``stream`` onto ``out``, one line per line, in order; returns the line count.

    The lines before a bad line are written before the error is raised. One process: splitting large inputs
    across two forked worker processes was tried and measured slower on the shared 2-core machine.
    """
    limit = max_chars()
    count = 0
    for lines in _blocks(stream):
        readings, error = _normalize_block(count + 1, lines, extra, limit)
        if readings:
            out.write("\n".join(readings).encode("utf-8") + b"\n")
        count += len(readings)
        out.flush()  # a script may feed us a line and wait for its answer
        if error:
            raise InputError(error)
    return count


def run(
    args: argparse.Namespace,
    *,
    extra: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    stdin_is_tty: bool | None = None,
) -> int:
    """Run the command with parsed ``args``; Vietnamese message on stderr and status 2 on bad input."""
    try:
        stdout = sys.stdout.buffer if stdout is None else stdout
        if args.text is not None and args.text != "-":
            stdout.write(normalize_text(args.text, extra).encode("utf-8") + b"\n")
            stdout.flush()
            return 0
        if stdin is None:
            if sys.stdin is None:  # started with stdin closed (`<&-`)
                raise InputError("Không đọc được đầu vào: stdin đã bị đóng.")
            stdin = sys.stdin.buffer
        if args.text is None and (stdin.isatty() if stdin_is_tty is None else stdin_is_tty):
            raise InputError(
                'Thiếu văn bản. Dùng: loa tts normalize "…", hoặc đưa nhiều dòng qua stdin: '
                "loa tts normalize - < tep.txt"
            )
        normalize_lines(stdin, stdout, extra)
        return 0
    except InputError as exc:
        print(exc.message, file=sys.stderr)
        return USAGE_ERROR


def main(argv: list[str]) -> int | None:
    """The fast path: the exit status, or ``None`` when the command needs Django (``--db`` or Django's options)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.db or unknown:
        return None
    try:
        return run(args)
    except BrokenPipeError:  # `loa tts normalize - < big.txt | head`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
