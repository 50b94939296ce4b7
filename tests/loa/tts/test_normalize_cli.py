"""``loa tts normalize`` as scripts run it: one text, many lines on stdin, bad input; without Django (issue 22, 4).

The command runs as a subprocess through the console script's entry point (``loa.cli.main``), as an operator's
script calls it. Start-up time is a benchmark, not a test: ``bench/tts_normalize_cli.py``.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from loa.tts.models import Abbreviation
from loa.tts.normalize import normalize_vi

CASES = Path(__file__).parent / "cases_vi.tsv"

# Runs loa.cli.main as the `loa` script does, then says whether Django was imported on the way.
RUN = (
    "import sys\n"
    "from loa.cli import main\n"
    "try:\n"
    "    main(['loa', 'tts', 'normalize', *sys.argv[1:]])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "else:\n"
    "    code = 0\n"
    "sys.stdout.flush()\n"
    "print('django' in sys.modules, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _normalize(
    *args: str, stdin: bytes | int | None = None, **env: str
) -> subprocess.CompletedProcess[bytes]:
    environ = dict(os.environ, **env)
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    kwargs: dict[str, Any] = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin}
    return subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, timeout=120, env=environ, **kwargs
    )  # fmt: skip


def _django_imported(result: subprocess.CompletedProcess[bytes]) -> bool:
    return result.stderr.decode().strip().splitlines()[-1] == "True"


def _sentences() -> list[str]:
    rows = CASES.read_text(encoding="utf-8").splitlines()
    return [row.split("\t")[0] for row in rows if row.strip() and not row.startswith("#")]


def test_one_text_is_normalized_without_importing_django() -> None:
    result = _normalize("Bão số 3 gió cấp 12, giật cấp 15; liên hệ 0912 345 678 trước 17h ngày 20/7.")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == (
        "Bão số ba gió cấp mười hai, giật cấp mười lăm; liên hệ không chín một hai ba bốn năm sáu bảy tám "
        "trước mười bảy giờ ngày hai mươi tháng bảy.\n"
    )
    assert not _django_imported(result)


def test_many_lines_from_stdin_keep_their_order_and_blank_lines() -> None:
    sentences = _sentences()
    assert len(sentences) > 150
    lines: list[str] = []
    for i, sentence in enumerate(sentences * 3):
        lines.append(sentence)
        if i % 7 == 0:
            lines.append("")  # a blank line stays a blank line
        if i % 11 == 0:
            lines.append("   \t ")  # so does a line of spaces
    text = "\n".join(lines) + "\n"
    expected = [normalize_vi(line) if line.strip() else "" for line in lines]
    for args in (("-",), ()):  # "-", or no text with stdin not a terminal
        result = _normalize(*args, stdin=text.encode("utf-8"))
        assert result.returncode == 0, result.stderr.decode()
        out = result.stdout.decode("utf-8").split("\n")
        assert out[-1] == "" and out[:-1] == expected
        assert not _django_imported(result)
    # Windows line ends and a last line without a newline; a BOM at the start is not read aloud.
    result = _normalize("-", stdin="\ufeffNgày 22/5\r\nUBND xã\r\n\r\n7h-11h".encode())
    assert (
        result.stdout.decode()
        == "Ngày hai mươi hai tháng năm\nủy ban nhân dân xã\n\nbảy giờ đến mười một giờ\n"
    )


def test_bad_input_is_refused_in_vietnamese_with_status_2(tmp_path: Path) -> None:
    bad_utf8 = "Ngày 22/5\nUBND xã\n".encode() + b"th\xf4ng b\xe1o\n" + b"7h\n"
    cases: list[tuple[tuple[str, ...], bytes | int | None, dict[str, str], str]] = [
        (("-",), bad_utf8, {}, "Dòng 3 của đầu vào không phải văn bản UTF-8 hợp lệ"),
        (("-",), "Ngày 22/5\nhọp\x07 lúc 7h\n".encode(), {}, "Dòng 2 chứa ký tự điều khiển không hợp lệ"),
        (
            ("-",),
            ("a" * 41 + "\n").encode(),
            {"LOA_TTS_MAX_CHARS": "40"},
            "Dòng 1 dài 41 ký tự, vượt giới hạn 40",
        ),
        (("",), None, {}, "đang để trống"),
        (("x" * 5001,), None, {}, "vượt giới hạn 5.000 ký tự"),
        (("\u200b\u200b",), None, {}, "không có chữ nào đọc được"),  # zero-width spaces only
        (("ab\udcff",), None, {}, "không phải văn bản UTF-8 hợp lệ"),  # the argument's bytes b"ab\xff"
    ]
    for args, stdin, env, message in cases:
        result = _normalize(*args, stdin=stdin, **env)
        err = result.stderr.decode("utf-8")
        assert result.returncode == 2, (args, err)
        assert message in err and "Traceback" not in err, (args, err)
        assert not _django_imported(result)
    # The lines before the bad one were written, in order.
    assert (
        _normalize("-", stdin=bad_utf8).stdout.decode() == "Ngày hai mươi hai tháng năm\nủy ban nhân dân xã\n"
    )
    # Stdin closed (`<&-`): refused for lines, no matter for one text.
    closed = subprocess.run(
        ["sh", "-c", '"$0" -c "$1" - <&-; echo "status $?"; "$0" -c "$1" 22/5 <&-', sys.executable, RUN],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert closed.stdout.decode() == "status 2\nngày hai mươi hai tháng năm\n", closed
    assert "stdin đã bị đóng" in closed.stderr.decode() and b"Traceback" not in closed.stderr
    # Stdin that cannot be read (opened for writing only), and no text with stdin a terminal.
    unreadable = os.open(tmp_path / "out.txt", os.O_WRONLY | os.O_CREAT)
    main, terminal = pty.openpty()
    try:
        for stdin_fd, message in ((unreadable, "Không đọc được đầu vào"), (terminal, "Thiếu văn bản")):
            result = _normalize(stdin=stdin_fd)
            err = result.stderr.decode("utf-8")
            assert result.returncode == 2 and message in err and "Traceback" not in err, err
    finally:
        for fd in (unreadable, main, terminal):
            os.close(fd)


@pytest.mark.django_db
def test_db_option_reads_the_editors_abbreviations_through_django(
    capfdbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    Abbreviation.objects.create(text="HTX", reading="hợp tác xã nông nghiệp")
    call_command("tts", "normalize", "--db", "HTX họp ngày 22/5")
    assert capfdbinary.readouterr().out.decode() == "hợp tác xã nông nghiệp họp ngày hai mươi hai tháng năm\n"
    call_command("tts", "normalize", "HTX họp")  # without --db: the bundled table only, as the fast path
    assert capfdbinary.readouterr().out.decode() == "hợp tác xã họp\n"
    # The fast path hands --db to Django instead of answering with the bundled table.
    result = _normalize("--db", "HTX", LOA_DATA_DIR=str(tmp_path))  # a new data folder: no tables yet
    assert _django_imported(result)
    assert result.returncode == 2 and "Không đọc được bảng viết tắt" in result.stderr.decode(), result.stderr


def test_a_script_gets_each_answer_before_it_sends_the_next_line() -> None:
    environ = dict(os.environ)
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=environ,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for line, expected in (
            ("Ngày 22/5", "Ngày hai mươi hai tháng năm"),
            ("UBND xã", "ủy ban nhân dân xã"),
        ):
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 60)  # deadline, not a sleep
            assert ready, f"no answer to {line!r} while stdin is still open"
            assert proc.stdout.readline().decode() == expected + "\n"
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
