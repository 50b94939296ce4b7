"""Configuration from the environment: embedded defaults, and production refusing unsafe settings by name."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from loa.config import UnsafeConfiguration, load


def test_embedded_defaults(tmp_path: Path) -> None:
    config = load({"LOA_DATA_DIR": str(tmp_path)})
    assert config.mode == "embedded"
    assert config.database_url == f"sqlite:///{tmp_path / 'loa.sqlite3'}"
    assert config.mqtt_url == "embedded"
    assert config.time_zone == "Asia/Ho_Chi_Minh"
    assert config.language == "vi"
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == config.secret_key and len(config.secret_key) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load({"LOA_DATA_DIR": str(tmp_path)}).secret_key == config.secret_key, (
        "the key is kept, not regenerated"
    )


def test_production_names_every_unsafe_setting(tmp_path: Path) -> None:
    with pytest.raises(UnsafeConfiguration) as exc:
        load({"LOA_MODE": "production", "LOA_DATA_DIR": str(tmp_path), "LOA_DEBUG": "1"})
    text = "\n".join(exc.value.problems)
    for name in (
        "LOA_SECRET_KEY",
        "LOA_DEBUG",
        "LOA_ALLOWED_HOSTS",
        "LOA_DATABASE_URL",
        "LOA_MQTT_URL",
        "LOA_PUBLIC_URL",
    ):
        assert name in text
    assert not (tmp_path / "secret_key").exists(), "production never invents a secret key"


def test_production_accepts_safe_settings(tmp_path: Path) -> None:
    config = load(
        {
            "LOA_MODE": "production",
            "LOA_DATA_DIR": str(tmp_path),
            "LOA_SECRET_KEY": os.urandom(48).hex(),
            "LOA_ALLOWED_HOSTS": "loa.quangninh.gov.vn",
            "LOA_DATABASE_URL": "postgres://loa@db/loa",
            "LOA_MQTT_URL": "mqtts://mqtt.quangninh.gov.vn:8883",
            "LOA_PUBLIC_URL": "https://loa.quangninh.gov.vn",
        }
    )
    assert config.production and config.allowed_hosts == ["loa.quangninh.gov.vn"]


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"LOA_LANGUAGE": "fr"}, "LOA_LANGUAGE"),
        ({"LOA_TIME_ZONE": "Mars/Olympus"}, "LOA_TIME_ZONE"),
        ({"LOA_MODE": "staging"}, "LOA_MODE"),
        ({"LOA_MEDIA_WARM_URL": "loa.tinh.gov.vn"}, "LOA_MEDIA_WARM_URL"),
        ({"LOA_MEDIA_WARM_URL": "ftp://127.0.0.1"}, "LOA_MEDIA_WARM_URL"),
        ({"LOA_MEDIA_WARM_URL": "https://loa.tinh.gov.vn/media/files"}, "LOA_MEDIA_WARM_URL"),
    ],
)
def test_invalid_values_are_refused(tmp_path: Path, env: dict[str, str], name: str) -> None:
    with pytest.raises(UnsafeConfiguration) as exc:
        load({"LOA_DATA_DIR": str(tmp_path), **env})
    assert name in str(exc.value)


def test_the_shared_cache_to_warm_is_an_origin(tmp_path: Path) -> None:
    assert load({"LOA_DATA_DIR": str(tmp_path)}).media_warm_url == "", "none unless configured"
    config = load({"LOA_DATA_DIR": str(tmp_path), "LOA_MEDIA_WARM_URL": " https://loa.tinh.gov.vn/ "})
    assert config.media_warm_url == "https://loa.tinh.gov.vn"


def test_the_loa_command_refuses_to_start_unsafe_production(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "LOA_MODE": "production", "LOA_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "loa.cli", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "LOA_SECRET_KEY" in result.stderr and "từ chối khởi động" in result.stderr
