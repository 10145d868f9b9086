"""A local SMTP server for benchmarks: accepts everything, takes DELAY seconds per message.

Run in its own process (``python -m bench.smtp_sink --port P --delay 0.01 --count-file F``) so
that the dispatcher being measured does not share its interpreter. On SIGTERM it writes how many
messages (and distinct Message-IDs) it accepted to the count file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Sink:
    """Counts accepted messages after a fixed delay each."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.accepted = 0
        self.ids: set[bytes] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Wait, then accept (aiosmtpd's hook name)."""
        await asyncio.sleep(self.delay)
        self.accepted += 1
        found = MESSAGE_ID.search(envelope.original_content or envelope.content or b"")
        if found:
            self.ids.add(found.group(1))
        return "250 2.0.0 accepted"


def main() -> None:
    """Serve until SIGTERM, then write the counts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--count-file", type=Path, required=True)
    args = parser.parse_args()
    sink = Sink(args.delay)
    controller = Controller(sink, hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"]:
            signal.pause()
    finally:
        controller.stop()
        args.count_file.write_text(
            json.dumps({"accepted": sink.accepted, "distinct": len(sink.ids)})
        )


if __name__ == "__main__":
    main()
