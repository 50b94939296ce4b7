"""Enrolment: trade a one-time code for per-device credentials over HTTPS, and keep them in the state directory."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import httpx

from loa_protocol.messages import EnrolRequest, EnrolResponse, ProtocolError, decode
from loa_protocol.signing import write_atomic

ENROL_PATH = "/api/v1/fleet/enrol"
CREDENTIALS_FILE = "credentials.json"


class EnrolError(Exception):
    """Enrolment failed. ``code`` is machine-readable, ``message`` Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def device_serial() -> str:
    """The board's serial (Raspberry Pi: /proc/cpuinfo), else the machine id."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("serial"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        return Path("/etc/machine-id").read_text().strip() or platform.node()
    except OSError:
        return platform.node() or "unknown"


def enrol(
    server: str,
    request: EnrolRequest,
    ca_file: str | None = None,
    allow_http: bool = False,
    client: httpx.Client | None = None,
) -> EnrolResponse:
    if not server.startswith("https://") and not (allow_http and server.startswith("http://")):
        raise EnrolError("https_required", f"Máy chủ phải dùng HTTPS (https://…), không phải {server!r}.")
    url = server.rstrip("/") + ENROL_PATH
    http = client or httpx.Client(timeout=30, verify=ca_file or True)
    try:
        response = http.post(
            url, content=request.model_dump_json(), headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        raise EnrolError("unreachable", f"Không kết nối được máy chủ {url}: {exc}") from None
    finally:
        if client is None:
            http.close()
    if response.status_code != 200:
        code, message = f"http_{response.status_code}", response.text[:300]
        try:
            body = response.json()
            if isinstance(body, dict):
                code = str(body.get("code") or code)
                message = str(body.get("message") or body.get("detail") or message)
        except (json.JSONDecodeError, ValueError):
            pass
        raise EnrolError(code, f"Máy chủ từ chối đăng ký (HTTP {response.status_code}): {message}")
    try:
        return decode(EnrolResponse, response.content)
    except ProtocolError as exc:
        raise EnrolError("bad_response", f"Máy chủ trả lời không đúng giao thức: {exc.message}") from None


def save_credentials(state_dir: Path, credentials: EnrolResponse) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    path = state_dir / CREDENTIALS_FILE
    write_atomic(path, credentials.model_dump_json(indent=2).encode("utf-8"), mode=0o600)
    return path


def load_credentials(state_dir: Path) -> EnrolResponse:
    path = state_dir / CREDENTIALS_FILE
    if not path.exists():
        raise EnrolError("not_enrolled", f"Thiết bị chưa đăng ký: không có {path}. Chạy: loa agent enrol …")
    try:
        return decode(EnrolResponse, path.read_bytes())
    except ProtocolError as exc:
        raise EnrolError("bad_credentials", f"Tệp {path} hỏng: {exc.message}") from None
