"""Configuration from ``DIRECTIVES_*`` environment variables (one pydantic-settings class)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

TIMEZONE = "Asia/Ho_Chi_Minh"


class Settings(BaseSettings):
    """Everything an installation configures; nothing is read at import time."""

    model_config = SettingsConfigDict(env_prefix="DIRECTIVES_", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""  # empty → a SQLite file under var_dir
    smtp_url: str | None = None  # unset → messages are written as .eml files under var/mail/
    mail_from: str = "Văn phòng UBND tỉnh <vanphong@localhost>"
    smtp_connections: int = Field(default=4, ge=1, le=64)
    smtp_timeout: float = Field(default=30.0, gt=0)
    smtp_max_attempts: int = Field(default=8, ge=1, le=50)
    office_name: str = "Văn phòng UBND tỉnh"
    app_url: str = ""  # the web app's address, for links in emails (empty: no links)
    secret_key: str | None = None  # signs web sessions and emailed links; unset → made once in var
    now: datetime | None = None  # a fixed clock for replays and tests (ISO 8601 with offset)
    office_chief: str | None = None  # "Chánh Văn phòng <chanhvp@…>": copied on escalations
    policy_file: Path | None = None  # a TOML file with a [policy] table (see directives.policy)
    timezone: str = TIMEZONE

    @property
    def mail_dir(self) -> Path:
        """Where messages go as .eml files when no SMTP URL is set."""
        return self.var_dir / "mail"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<var_dir>/directives.sqlite3``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'directives.sqlite3'}"
