"""The ``loa`` console script: Django management commands with Loa's settings.

``loa --help`` lists Loa's own commands first, then Django's. ``loa agent`` is dispatched to the device agent
without importing the server (the agent never depends on Django). ``loa tts normalize`` runs
:mod:`loa.tts.normalize_cli` without Django either (start-up ≈ 0.15 s, for scripts); with ``--db`` or a Django
option it falls through to the management command. ``loa tts eval FILE`` (word error rate of the normalizer on a set
of sentences, :mod:`loa.tts.evaluation`) runs without Django too.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict

DEVICE_COMMANDS = {"agent"}


def _print_help(prog: str) -> None:
    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    own: dict[str, str] = {}
    others: dict[str, list[str]] = defaultdict(list)
    for name, app in sorted(commands.items()):
        if app.startswith("loa.") or app == "loa":
            try:
                own[name] = load_command_class(app, name).help.strip().splitlines()[0]
            except Exception:  # pragma: no cover - a broken command still gets listed
                own[name] = ""
        else:
            others[app.rsplit(".", 1)[-1]].append(name)
    print(f"Cách dùng / usage: {prog} <lệnh> [tùy chọn]\n")
    print("Lệnh của Loa (Loa's commands):")
    width = max((len(n) for n in own), default=10) + 2
    for name, text in own.items():
        print(f"  {name.ljust(width)}{text}")
    print("  agent".ljust(width + 2) + "Tác tử thiết bị tham chiếu (chạy trên cụm loa)")
    print(f"\nMỗi lệnh có trợ giúp riêng: {prog} <lệnh> --help\n")
    print("Lệnh Django (Django's commands):")
    for app, names in sorted(others.items()):
        print(f"  [{app}] " + ", ".join(names))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] in DEVICE_COMMANDS:
        from loa_agent.cli import main as agent_main

        agent_main(argv[2:])
        return
    if argv[1:3] == ["tts", "normalize"]:
        from loa.tts.normalize_cli import main as normalize_main

        status = normalize_main(argv[3:])
        if status is not None:
            raise SystemExit(status)
    if argv[1:3] == ["protocol", "conformance"]:
        from loa_protocol.conformance.__main__ import main as conformance_main

        raise SystemExit(conformance_main(argv[3:]))
    if argv[1:3] == ["tts", "eval"]:
        from loa.tts.evaluation import main as eval_main

        raise SystemExit(eval_main(argv[3:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
    from loa.config import UnsafeConfiguration

    try:
        import django

        django.setup()
    except UnsafeConfiguration as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    if len(argv) <= 1 or (argv[1] in {"-h", "--help", "help"} and len(argv) <= 2):
        _print_help(os.path.basename(argv[0]) or "loa")
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":  # pragma: no cover
    main()
