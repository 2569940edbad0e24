"""A real SMTP server for the mail tests: aiosmtpd on loopback, saving every message it
accepts as <n>.eml (the raw DATA) with the envelope recipients in <n>.rcpt.

    python3 tests/support/smtp_sink.py PORT DIR

Prints "ready" once it listens. Needs `pip install aiosmtpd` (done by .ci/run).
"""

import pathlib
import signal
import sys

from aiosmtpd.controller import Controller


class Save:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        # A restarted server (the "SMTP down, then up" test) goes on numbering.
        self.count = len(list(folder.glob("*.eml")))

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = self.folder / f"{self.count:04d}"
        stem.with_suffix(".eml").write_bytes(envelope.original_content or envelope.content)
        stem.with_suffix(".rcpt").write_text("\n".join(envelope.rcpt_tos))
        return "250 OK"


def main() -> None:
    port, folder = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Save(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        # Until the test stops it (a timed sleep would fail under `faketime`, with which
        # the suite is checked on other dates).
        while True:
            signal.pause()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
