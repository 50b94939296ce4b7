"""Command line of the conformance runner (``loa protocol conformance`` or ``python -m loa_protocol.conformance``)."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from loa_protocol.conformance.harness import Harness
from loa_protocol.conformance.rules import RULES, Context, Rule


@dataclass
class DeviceProcess:
    """The device under test, driven by two command templates ({server}, {code}, {state} are filled in)."""

    enrol_template: str
    run_template: str
    server: str
    state: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    outputs: list[str] = field(default_factory=list)

    def _argv(self, template: str, code: str = "") -> list[str]:
        return shlex.split(template.format(server=self.server, code=code, state=str(self.state)))

    def enrol(self, code: str) -> tuple[int, str]:
        done = subprocess.run(
            self._argv(self.enrol_template, code), capture_output=True, text=True, timeout=120
        )
        output = (done.stdout + done.stderr).strip()
        self.outputs.append(output)
        return done.returncode, output

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self._argv(self.run_template), stdout=log, stderr=subprocess.STDOUT
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def check_template(option: str, template: str) -> str | None:
    """Why a command template cannot run (Vietnamese), or None: checked before the runner starts anything."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        return f"{option}: dấu ngoặc {{ }} không khớp (dấu ngoặc thật viết {{{{ hoặc }}}})"
    unknown = sorted(fields - {"server", "code", "state"})
    if unknown:
        return f"{option}: không có chỗ điền {{{unknown[0]}}}; chỉ dùng được {{server}}, {{code}}, {{state}}"
    try:
        argv = shlex.split(template.format(server="http://127.0.0.1:1", code="0", state="state"))
    except ValueError:
        return f"{option}: thiếu dấu nháy đóng trong mẫu lệnh"
    if not argv:
        return f"{option}: mẫu lệnh trống"
    if shutil.which(argv[0]) is None:
        return f"{option}: không tìm thấy chương trình {argv[0]!r} (kiểm tra PATH hoặc ghi đường dẫn đầy đủ)"
    return None


def check_only(only: list[str] | None) -> str | None:
    """Why ``--only`` names a rule the runner does not have (Vietnamese), or None."""
    unknown = [rule for rule in only or [] if rule not in {r.id for r in RULES}]
    if unknown:
        return f"--only: không có quy tắc {', '.join(unknown)}; các quy tắc: {', '.join(r.id for r in RULES)}"
    return None


@dataclass
class Result:
    rule: Rule
    passed: bool
    detail: str
    seconds: float


def run(enrol_template: str, run_template: str, only: list[str] | None = None) -> list[Result]:
    harness = Harness().start()
    state = Path(tempfile.mkdtemp(prefix="loa-conformance-"))
    device = DeviceProcess(
        enrol_template, run_template, harness.server_url, state / "device", state / "device.log"
    )
    ctx = Context(harness, device)
    results: list[Result] = []
    try:
        for rule in RULES:
            if only and rule.id not in only and not rule.id.startswith(("enrol.", "presence.")):
                continue
            started = time.monotonic()
            try:
                passed, detail = rule.check(ctx)
            except Exception as exc:  # a rule that cannot run fails with why, the others still run
                passed, detail = False, f"{type(exc).__name__}: {exc}"
            results.append(Result(rule, passed, detail, time.monotonic() - started))
            if rule.id == "enrol.good_code" and not passed:
                break  # nothing else can be checked without an enrolled device
            if rule.id.startswith(("command.", "media.", "manifest.")) and not device.running():
                results.append(Result(rule, False, "thiết bị đã dừng: " + device.log.read_text()[-500:], 0.0))
                break
    finally:
        device.stop()
        harness.stop()
    return results


def print_table(results: list[Result]) -> None:
    width = max(len(r.rule.id) for r in results) + 2
    for r in results:
        mark = "ĐẠT " if r.passed else "TRƯỢT"
        print(f"{mark}  {r.rule.section:<11} {r.rule.id:<{width}} {r.rule.title}")
        if not r.passed or r.detail:
            print(f"{'':6} {'':11} {'':<{width}} → {r.detail}")
    passed = sum(r.passed for r in results)
    print(f"\n{passed}/{len(results)} quy tắc đạt.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loa protocol conformance",
        description="Kiểm tra một thiết bị theo docs/protocol.md: máy chủ giả lập (broker, HTTP, khóa ký) gửi lệnh, "
        "lịch phát, tệp, và chấm những gì thiết bị gửi lại. Trong mẫu lệnh: {server}, {code}, {state}.",
    )
    parser.add_argument("--enrol", required=True, help="lệnh đăng ký thiết bị, ví dụ 'loa agent enrol --server "
                        "{server} --code {code} --state-dir {state} --allow-http'")  # fmt: skip
    parser.add_argument("--run", required=True, help="lệnh chạy thiết bị, ví dụ 'loa agent run --state-dir {state} "
                        "--player null --heartbeat 5'")  # fmt: skip
    parser.add_argument(
        "--only", action="append", help="chỉ chạy quy tắc này (lặp lại được); đăng ký luôn chạy"
    )
    parser.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    args = parser.parse_args(argv)
    for problem in (
        check_template("--enrol", args.enrol),
        check_template("--run", args.run),
        check_only(args.only),
    ):
        if problem:
            parser.error(problem)
    results = run(args.enrol, args.run, args.only)
    if args.json:
        print(json.dumps([
            {"rule": r.rule.id, "section": r.rule.section, "title": r.rule.title, "passed": r.passed,
             "detail": r.detail, "seconds": round(r.seconds, 2)} for r in results
        ], ensure_ascii=False, indent=2))  # fmt: skip
    else:
        print_table(results)
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
