"""Command line of the reference agent: ``loa agent enrol`` and ``loa agent run`` (also ``python -m loa_agent``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from loa_agent import __version__
from loa_agent.enrol import (
    EnrolError,
    device_serial,
    enrol,
    load_credentials,
    parse_enrol_link,
    save_credentials,
)
from loa_protocol import PROTOCOL_VERSION
from loa_protocol.messages import EnrolRequest, ProtocolError

EXIT_REBOOT = 75  # systemd restarts the service (Restart=always)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loa agent", description="Tác tử cụm loa tham chiếu của Loa.")
    parser.add_argument("--version", action="store_true", help="in phiên bản rồi thoát")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("enrol", help="đăng ký thiết bị bằng mã một lần")
    p.add_argument("--server", default=None, help="địa chỉ máy chủ Loa, ví dụ https://loa.tinh.gov.vn")
    p.add_argument("--code", default=None, help="mã đăng ký một lần (hiện trên bảng điều khiển)")
    p.add_argument("--qr", default=None, metavar="LINK",
                   help="liên kết trong mã QR của bảng điều khiển: loa://enrol?server=…&code=… "
                        "(thay cho --server và --code)")  # fmt: skip
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--serial", default=None)
    p.add_argument("--imei", default=None)
    p.add_argument("--vendor", default="Loa")
    p.add_argument("--model", default="loa-agent")
    p.add_argument("--ca-file", default=None, help="chứng chỉ CA riêng (PEM) của máy chủ")
    p.add_argument("--allow-http", action="store_true", help="cho phép http:// (chỉ để thử nghiệm)")

    r = sub.add_parser("run", help="chạy tác tử")
    r.add_argument("--state-dir", required=True, type=Path)
    r.add_argument("--player", default="auto", choices=["auto", "ffmpeg", "mpv", "ffplay", "null"],
                   help="auto: ffmpeg ra ALSA, nếu không có thì mpv, ffplay")  # fmt: skip
    r.add_argument("--output", default=None, type=Path, metavar="DIR",
                   help="ghi âm thanh phát ra thành tệp WAV trong DIR thay vì ra loa (để kiểm tra)")  # fmt: skip
    r.add_argument("--heartbeat", type=float, default=60.0, help="chu kỳ gửi trạng thái (giây)")
    r.add_argument("--manifest-poll", type=float, default=900.0, metavar="S",
                   help="chu kỳ lấy lịch phát qua HTTPS (giây; mặc định 900 = 15 phút, như docs/protocol.md §9)")  # fmt: skip
    r.add_argument("--ca-file", default=None)
    r.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"loa-agent {__version__} (giao thức {PROTOCOL_VERSION})")
        return
    if args.command == "enrol":
        raise SystemExit(_enrol(args))
    if args.command == "run":
        raise SystemExit(_run(args))
    parser.print_help()
    raise SystemExit(2)


def _fail(code: str, message: str) -> int:
    print(f"Lỗi [{code}]: {message}", file=sys.stderr)
    return 2


def _enrol(args: argparse.Namespace) -> int:
    server, code = args.server, args.code
    if args.qr is not None:
        if server is not None or code is not None:
            return _fail("invalid", "Dùng --qr hoặc --server với --code, không dùng cả hai.")
        try:
            server, code = parse_enrol_link(args.qr)
        except EnrolError as exc:
            return _fail(exc.code, exc.message)
    elif server is None or code is None:
        return _fail("invalid", "Cần --server và --code (hoặc --qr với liên kết trong mã QR).")
    try:
        request = EnrolRequest(
            code=code,
            serial=args.serial or device_serial(),
            imei=args.imei,
            vendor=args.vendor,
            model=args.model,
            firmware=f"loa-agent {__version__}",
        )
    except ValueError as exc:
        return _fail("invalid", f"Thông tin đăng ký không hợp lệ: {exc}")
    try:
        credentials = enrol(server, request, ca_file=args.ca_file, allow_http=args.allow_http)
    except EnrolError as exc:
        return _fail(exc.code, exc.message)
    path = save_credentials(args.state_dir, credentials)
    print(f"Đã đăng ký thiết bị {credentials.device_id} (đơn vị {'/'.join(credentials.unit_codes)}); "
          f"thông tin lưu tại {path}.")  # fmt: skip
    return 0


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        credentials = load_credentials(args.state_dir)
    except EnrolError as exc:
        return _fail(exc.code, exc.message)
    except ProtocolError as exc:
        return _fail(exc.code, exc.message)
    if args.output is not None and args.player not in ("auto", "ffmpeg"):
        return _fail("invalid", "--output chỉ dùng với trình phát ffmpeg (--player ffmpeg hoặc auto).")
    from loa_agent.agent import build_agent

    runtime = build_agent(args.state_dir, credentials, player=args.player, heartbeat_s=args.heartbeat,
                          ca_file=args.ca_file, output_dir=args.output, manifest_poll_s=args.manifest_poll)  # fmt: skip
    exit_code = 0

    async def serve() -> None:
        nonlocal exit_code
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def reboot() -> None:
            nonlocal exit_code
            exit_code = EXIT_REBOOT
            loop.call_later(1.0, stop.set)  # let the "done" ack go out first

        runtime.on_reboot = reboot
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(runtime.run())
        await stop.wait()
        await runtime.shutdown()
        task.cancel()

    asyncio.run(serve())
    return exit_code
