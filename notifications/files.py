"""Without an SMTP server: each message is written as an .eml file under var/mail/."""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

from notifications.smtp import Delivery


def eml_name(message_id: str) -> str:
    """A file name derived from the Message-ID, so a retry overwrites instead of doubling."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", message_id.strip("<>")) + ".eml"


class FileMailer:
    """Writes messages atomically (temporary file, then rename) into one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, msg: EmailMessage | bytes, message_id: str, recipients: list[str]) -> Delivery:
        """Write ``msg`` (built, or its bytes); every recipient counts as accepted."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / eml_name(message_id)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(msg if isinstance(msg, bytes) else msg.as_bytes(policy=SMTP_POLICY))
        os.replace(tmp, target)
        return Delivery(accepted=tuple(recipients))
