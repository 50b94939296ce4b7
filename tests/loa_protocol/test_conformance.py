"""The conformance runner (issue 21 item 2): the shipped reference agent passes every rule; an agent broken in one
way fails the rule that checks it. Real Mosquitto, real agent processes, the runner's own HTTP endpoint."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from loa_protocol.conformance.__main__ import run
from loa_protocol.conformance.rules import RULES

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
                                reason="cần Mosquitto")  # fmt: skip

LOA = str(Path(sys.executable).with_name("loa"))
ENROL = f"{LOA} agent enrol --server {{server}} --code {{code}} --state-dir {{state}} --allow-http"
RUN_ARGS = "run --state-dir {state} --player null --heartbeat 5 --manifest-poll 5"
ROOT = Path(__file__).resolve().parents[2]


def test_the_reference_agent_passes_every_rule() -> None:
    results = run(ENROL, f"{LOA} agent {RUN_ARGS}")
    failed = [(r.rule.id, r.detail) for r in results if not r.passed]
    assert not failed, failed
    assert [r.rule.id for r in results] == [rule.id for rule in RULES]


@pytest.mark.parametrize(
    ("variant", "rules"),
    [
        ("accepts_unsigned", ["command.unsigned"]),
        ("no_replay_guard", ["command.replayed"]),
        ("reuses_event_ids", ["media.play", "playlog.event_ids"]),
        ("trusts_any_manifest", ["manifest.forged"]),
        ("ignores_windows", ["windows.outside"]),
        ("end_inclusive", ["windows.end_exclusive"]),
        ("whole_day_never", ["windows.whole_day"]),
        ("never_preempts", ["ladder.preempt"]),
        ("lower_preempts", ["ladder.no_preempt"]),
        ("ignores_volume_cap", ["volume.cap"]),
        ("any_stream_url", ["stream.kind"]),
        ("no_manifest_poll", ["manifest.poll"]),
        ("uploads_newest_first", ["playlog.outage"]),
    ],
)
def test_a_broken_agent_fails_the_rule_it_breaks(
    variant: str, rules: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # python -m tests.… from the repository
    results = run(
        ENROL, f"{sys.executable} -m tests.loa_protocol.broken_agent {variant} {RUN_ARGS}", only=rules
    )
    by_id = {r.rule.id: r for r in results}
    assert by_id["enrol.good_code"].passed and by_id["presence.online"].passed, by_id
    assert not by_id[rules[-1]].passed, f"{variant} passed {rules[-1]}: {by_id[rules[-1]].detail}"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["--enrol", "no-such-device-tool enrol {code}", "--run", "true"],
            "không tìm thấy chương trình 'no-such-device-tool'",
        ),
        (["--enrol", "true {servr}", "--run", "true"], "--enrol: không có chỗ điền {servr}"),
        (["--enrol", "true", "--run", "true {0}"], "--run: không có chỗ điền {0}"),
        (["--enrol", "true {server", "--run", "true"], "--enrol: dấu ngoặc { } không khớp"),
        (["--enrol", "true 'unclosed", "--run", "true"], "--enrol: thiếu dấu nháy đóng"),
        (["--enrol", "  ", "--run", "true"], "--enrol: mẫu lệnh trống"),
        (
            ["--enrol", "true", "--run", "true", "--only", "command.replayd"],
            "không có quy tắc command.replayd",
        ),
    ],
)
def test_a_command_that_cannot_run_is_refused_before_anything_starts(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from loa_protocol.conformance import __main__ as cli

    def must_not_run(*_: object, **__: object) -> None:
        raise AssertionError("the runner started")

    monkeypatch.setattr(cli, "run", must_not_run)
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    assert says in capsys.readouterr().err
