"""Settings: defaults for the embedded set-up, and production refusing default secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_embedded_setup(monkeypatch):
    for name in ('DATABASE_URL', 'DATA_DIR', 'PORT', 'TIMEZONE', 'EMBEDDED_WORKER', 'ENV'):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.db_url.startswith('sqlite:///') and settings.db_url.endswith('data/labdesk.db')
    assert settings.port == 8080
    assert settings.timezone == 'Asia/Kolkata'
    assert settings.embedded_worker is True


def test_production_refuses_the_default_secret():
    settings = Settings(_env_file=None, env='production', secret_key='change-me')
    assert settings.problems() == ['SECRET_KEY must be set to a random value of 16 characters or more']
    assert Settings(_env_file=None, env='production', secret_key='x' * 32).problems() == []


def test_an_unknown_timezone_is_refused_by_name():
    with pytest.raises(ValidationError, match='Mars/Olympus'):
        Settings(_env_file=None, timezone='Mars/Olympus')


def test_the_app_will_not_start_in_production_with_a_default_secret(tmp_path):
    env = {'PATH': '/usr/bin:/bin', 'ENV': 'production', 'SECRET_KEY': 'change-me', 'DATA_DIR': str(tmp_path)}
    result = subprocess.run(
        [sys.executable, 'app.py'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert 'refusing to start: SECRET_KEY must be set' in result.stderr
