"""Configuration from the environment (documented in docs/configuration.md).

Embedded mode (the default) runs with safe, self-generated defaults: a SQLite database and a secret key
stored in the data directory. Production mode (``LOA_MODE=production``) refuses to start while any setting
is unsafe and names every one of them.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MODES = ("embedded", "production")
LANGUAGES = ("vi", "en")
MIN_SECRET_KEY_LENGTH = 50


class UnsafeConfiguration(Exception):
    """Raised in production mode when one or more settings are unsafe."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Loa từ chối khởi động vì cấu hình chưa hợp lệ hoặc chưa an toàn:\n{lines}")


@dataclass(frozen=True)
class Config:
    mode: str
    data_dir: Path
    database_url: str
    mqtt_url: str
    secret_key: str
    time_zone: str
    language: str
    allowed_hosts: list[str]
    debug: bool
    public_url: str
    trusted_proxies: int = 0
    media_warm_url: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def production(self) -> bool:
        return self.mode == "production"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "loa"


def _secret_key_from_file(data_dir: Path) -> str:
    """Read the embedded-mode secret key, creating it (mode 0600) on first run."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load(env: dict[str, str] | None = None) -> Config:
    """Build the configuration from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    problems: list[str] = []
    mode = env.get("LOA_MODE", "embedded").strip().lower() or "embedded"
    if mode not in MODES:
        problems.append(f"LOA_MODE={mode!r} không hợp lệ; dùng 'embedded' hoặc 'production'.")
        mode = "production"
    production = mode == "production"

    data_dir = Path(env.get("LOA_DATA_DIR") or _default_data_dir()).expanduser().resolve()
    if not production:
        data_dir.mkdir(parents=True, exist_ok=True)

    database_url = env.get("LOA_DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'loa.sqlite3'}"
    mqtt_url = env.get("LOA_MQTT_URL", "").strip() or "embedded"
    time_zone = env.get("LOA_TIME_ZONE", "").strip() or "Asia/Ho_Chi_Minh"
    language = env.get("LOA_LANGUAGE", "").strip() or "vi"
    if language not in LANGUAGES:
        problems.append(f"LOA_LANGUAGE={language!r} không được hỗ trợ; dùng 'vi' hoặc 'en'.")
        language = "vi"
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(time_zone)
    except Exception:
        problems.append(
            f"LOA_TIME_ZONE={time_zone!r} không phải múi giờ IANA hợp lệ (ví dụ Asia/Ho_Chi_Minh)."
        )
        time_zone = "Asia/Ho_Chi_Minh"

    hosts_raw = env.get("LOA_ALLOWED_HOSTS", "").strip()
    allowed_hosts = [h.strip() for h in hosts_raw.split(",") if h.strip()]
    debug = _bool(env.get("LOA_DEBUG"))
    public_url = env.get("LOA_PUBLIC_URL", "").strip() or "http://127.0.0.1:8000"
    proxies_raw = env.get("LOA_TRUSTED_PROXIES", "").strip() or "0"
    trusted_proxies = int(proxies_raw) if proxies_raw.isdigit() else -1
    if not 0 <= trusted_proxies <= 5:
        problems.append(
            f"LOA_TRUSTED_PROXIES={proxies_raw!r} không hợp lệ: số reverse proxy đứng trước Loa (0–5)."
        )
        trusted_proxies = 0

    media_warm_url = env.get("LOA_MEDIA_WARM_URL", "").strip()
    warm = urlsplit(media_warm_url)
    if media_warm_url and (warm.scheme not in ("http", "https") or not warm.hostname or warm.path.strip("/")):
        problems.append(
            f"LOA_MEDIA_WARM_URL={media_warm_url!r} không hợp lệ: cần địa chỉ http(s):// của nginx đứng trước Loa, "
            "nhìn từ chính máy chủ này, không kèm đường dẫn (ví dụ https://loa.tinh.gov.vn), hoặc để trống."
        )
        media_warm_url = ""

    secret_key = env.get("LOA_SECRET_KEY", "").strip()
    if production:
        if not secret_key:
            problems.append("LOA_SECRET_KEY chưa được đặt (bắt buộc ở chế độ production).")
        elif len(secret_key) < MIN_SECRET_KEY_LENGTH or len(set(secret_key)) < 10:
            problems.append(f"LOA_SECRET_KEY quá yếu: cần ít nhất {MIN_SECRET_KEY_LENGTH} ký tự ngẫu nhiên.")
        if debug:
            problems.append("LOA_DEBUG đang bật; tắt nó ở chế độ production.")
        if not allowed_hosts or "*" in allowed_hosts:
            problems.append("LOA_ALLOWED_HOSTS phải liệt kê tên miền của máy chủ (không dùng '*').")
        if not env.get("LOA_DATABASE_URL", "").strip() or database_url.startswith("sqlite"):
            problems.append("LOA_DATABASE_URL phải trỏ tới PostgreSQL (SQLite chỉ dùng cho chế độ nhúng).")
        if mqtt_url == "embedded":
            problems.append(
                "LOA_MQTT_URL phải trỏ tới broker MQTT thật (Mosquitto), không dùng broker nhúng."
            )
        elif urlsplit(mqtt_url).scheme != "mqtts":
            problems.append("LOA_MQTT_URL phải dùng TLS (mqtts://...) ở chế độ production.")
        if not public_url.startswith("https://"):
            problems.append("LOA_PUBLIC_URL phải là địa chỉ https:// ở chế độ production.")
        if problems:
            raise UnsafeConfiguration(problems)
    else:
        if problems:
            raise UnsafeConfiguration(problems)
        if not secret_key:
            secret_key = _secret_key_from_file(data_dir)
        if not allowed_hosts:
            allowed_hosts = ["127.0.0.1", "localhost", "[::1]", "testserver"]

    return Config(
        mode=mode,
        data_dir=data_dir,
        database_url=database_url,
        mqtt_url=mqtt_url,
        secret_key=secret_key,
        time_zone=time_zone,
        language=language,
        allowed_hosts=allowed_hosts,
        debug=debug,
        public_url=public_url.rstrip("/"),
        trusted_proxies=trusted_proxies,
        media_warm_url=media_warm_url.rstrip("/"),
        problems=problems,
    )
