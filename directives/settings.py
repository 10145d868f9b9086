"""Configuration from ``DIRECTIVES_*`` environment variables (one pydantic-settings class)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

TIMEZONE = "Asia/Ho_Chi_Minh"


class Settings(BaseSettings):
    """Everything an installation configures; nothing is read at import time."""

    model_config = SettingsConfigDict(env_prefix="DIRECTIVES_", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""  # empty → a SQLite file under var_dir
    smtp_url: str | None = None  # unset → messages are written as .eml files under var/mail/
    mail_from: str = "Văn phòng UBND tỉnh <vanphong@localhost>"
    policy_file: Path | None = None
    timezone: str = TIMEZONE

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<var_dir>/directives.sqlite3``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'directives.sqlite3'}"
