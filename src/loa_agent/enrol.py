"""Enrolment: trade a one-time code for per-device credentials over HTTPS, and keep them in the state directory."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import platform
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from loa_protocol.messages import EnrolRequest, EnrolResponse, ProtocolError, decode
from loa_protocol.signing import DEFAULT_CLOCK_LEEWAY, write_atomic

ENROL_PATH = "/api/v1/fleet/enrol"
CREDENTIALS_FILE = "credentials.json"
ENROLLED_AT_FILE = "enrolled_at"
# The server's clock (HTTP Date) when it answered each device's enrolment, for save_credentials.
_server_time: dict[str, dt.datetime] = {}


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
        except (json.JSONDecodeError, ValueError):
            body = None
        refusal = _refusal(body)
        if refusal is not None:
            code, message = refusal
        raise EnrolError(code, f"Máy chủ từ chối đăng ký (HTTP {response.status_code}): {message}")
    try:
        credentials = decode(EnrolResponse, response.content)
    except ProtocolError as exc:
        raise EnrolError("bad_response", f"Máy chủ trả lời không đúng giao thức: {exc.message}") from None
    server_time = _http_date(response.headers.get("date"))
    if server_time is not None:
        _server_time[credentials.device_id] = server_time
    return credentials


def _http_date(value: str | None) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(dt.UTC) if parsed is not None and parsed.tzinfo is not None else None


def _refusal(body: object) -> tuple[str, str] | None:
    """Code and message of a refusal: the API's ``{"error": {"code", "message", …}}`` first, then a flat
    ``{"code", "message"}`` (older servers, proxies)."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        body = error
    code, message = body.get("code"), body.get("message") or body.get("detail")
    if not isinstance(code, str) and not isinstance(message, str):
        return None
    return (code if isinstance(code, str) and code else "refused",
            message if isinstance(message, str) and message else str(code))  # fmt: skip


def parse_enrol_link(link: str) -> tuple[str, str]:
    """Server URL and code of the console's enrolment QR link ``loa://enrol?server=<url-encoded>&code=<code>``.
    Raises :class:`EnrolError` (``bad_link``) for anything else."""
    parts = urlsplit(link.strip())
    query = parse_qs(parts.query, keep_blank_values=True)
    servers, codes = query.get("server", []), query.get("code", [])
    if (
        parts.scheme != "loa"
        or (parts.netloc or parts.path.strip("/")) != "enrol"
        or len(servers) != 1
        or len(codes) != 1
        or not servers[0]
        or not codes[0]
    ):
        raise EnrolError(
            "bad_link",
            f"Liên kết đăng ký không hợp lệ: {link!r} (cần loa://enrol?server=…&code=…, quét từ bảng điều khiển).",
        )
    server, code = servers[0], codes[0].strip()
    if urlsplit(server).scheme not in ("https", "http") or not urlsplit(server).netloc:
        raise EnrolError("bad_link", f"Địa chỉ máy chủ trong liên kết đăng ký không hợp lệ: {server!r}.")
    return server, code


def save_credentials(state_dir: Path, credentials: EnrolResponse) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    path = state_dir / CREDENTIALS_FILE
    write_atomic(path, credentials.model_dump_json(indent=2).encode("utf-8"), mode=0o600)
    # when it was enrolled, by the server's clock (the HTTP Date of the answer, whole seconds, so never later than
    # the true time) or else the device's less the clock leeway: the agent refuses commands issued before it
    # (protocol.md §6)
    enrolled_at = _server_time.pop(credentials.device_id, None) or (
        dt.datetime.now(dt.UTC).replace(microsecond=0) - DEFAULT_CLOCK_LEEWAY
    )
    write_atomic(state_dir / ENROLLED_AT_FILE, enrolled_at.isoformat().encode("ascii"), mode=0o600)
    return path


def load_enrolled_at(state_dir: Path) -> dt.datetime | None:
    """When the device was last enrolled (``None`` for a state directory from before this was kept)."""
    try:
        value = dt.datetime.fromisoformat((state_dir / ENROLLED_AT_FILE).read_text("ascii").strip())
    except (OSError, ValueError):
        return None
    return value if value.tzinfo is not None else None


def load_credentials(state_dir: Path) -> EnrolResponse:
    path = state_dir / CREDENTIALS_FILE
    if not path.exists():
        raise EnrolError("not_enrolled", f"Thiết bị chưa đăng ký: không có {path}. Chạy: loa agent enrol …")
    try:
        return decode(EnrolResponse, path.read_bytes())
    except ProtocolError as exc:
        raise EnrolError("bad_credentials", f"Tệp {path} hỏng: {exc.message}") from None
