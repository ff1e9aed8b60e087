"""Settings from the environment and `.env`; documented in README.md."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = 'change-me'


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file='.env', extra='ignore')

    data_dir: Path = Path('./data')
    database_url: str = ''
    port: int = 8080
    secret_key: str = DEFAULT_SECRET
    timezone: str = 'Asia/Kolkata'
    embedded_worker: bool = True
    env: str = 'development'
    admin_email: str = 'admin@labdesk.local'
    admin_password: str = ''
    session_idle_minutes: int = 60
    max_upload_mb: int = 20
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    internal_token: str = ''
    # Self-registration at /signup and POST /api/v1/auth/register; gives the reporter role only.
    allow_signup: bool = False
    # Files of issues DONE for longer than this many days are removed nightly; unset keeps every file.
    attachment_retention_days: int | None = None
    # Notifications (models/notifications.py, tasks/notify.py). Email goes out when SMTP_HOST is
    # set (otherwise it is written to the log); WhatsApp when WHATSAPP_API_URL is set.
    smtp_host: str = ''
    smtp_port: int = 587
    smtp_user: str = ''
    smtp_password: str = ''
    smtp_from: str = 'labdesk@localhost'
    smtp_starttls: bool = True
    whatsapp_api_url: str = ''
    whatsapp_api_token: str = ''
    management_group_numbers: str = ''  # comma-separated, e.g. +919800000001,+919800000002

    @field_validator('timezone')
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'unknown time zone {value!r} (use a name like Asia/Kolkata)') from None
        return value

    @field_validator('attachment_retention_days', mode='before')
    @classmethod
    def _retention_days(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None  # ATTACHMENT_RETENTION_DAYS= (empty) keeps every file
        if value is not None and int(value) < 1:
            raise ValueError('must be 1 or more days, or empty to keep every file')
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def db_url(self) -> str:
        return self.database_url or f'sqlite:///{(self.data_dir / "labdesk.db").resolve()}'

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / 'uploads'

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host.strip())

    @property
    def whatsapp_configured(self) -> bool:
        return bool(self.whatsapp_api_url.strip())

    @property
    def management_numbers(self) -> list[str]:
        """MANAGEMENT_GROUP_NUMBERS as a list, blanks and repeats dropped."""
        numbers = (n.strip() for n in self.management_group_numbers.split(','))
        return list(dict.fromkeys(n for n in numbers if n))

    def problems(self) -> list[str]:
        """What keeps this configuration from running in production."""
        if self.env != 'production':
            return []
        found = []
        if self.secret_key in ('', DEFAULT_SECRET) or len(self.secret_key) < 16:
            found.append('SECRET_KEY must be set to a random value of 16 characters or more')
        if self.internal_token and len(self.internal_token) < 16:
            found.append('INTERNAL_TOKEN must be empty (off) or 16 characters or more')
        if self.admin_password and len(self.admin_password) < 12:
            found.append('ADMIN_PASSWORD must have 12 characters or more')
        return found


@functools.cache
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of a local day (TIMEZONE), in UTC: where a range of local dates starts and ends."""
    return dt.datetime.combine(day, dt.time(), get_settings().tz).astimezone(dt.UTC)


def local_day(moment: dt.datetime) -> dt.date:
    """The local date (TIMEZONE) of a moment; a naive one is taken to be UTC, as the database stores it."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(get_settings().tz).date()
