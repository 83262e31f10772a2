"""The embedded backend: ``teleconsult-server`` as a child process on a free loopback port. Qt-free.

A child process rather than a thread keeps the backend's work (Argon2, SQLite) off the UI process's
GIL and lets it survive, or be restarted after, a crash on either side.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedBackendError(RuntimeError):
    pass


class EmbeddedBackend:
    def __init__(self, data_dir: Path, seed_demo: bool = False, target_wait_minutes: int = 15) -> None:
        self.data_dir = data_dir
        self.database_url = f"sqlite:///{data_dir / 'backend.sqlite3'}"
        self.seed_demo = seed_demo
        self.target_wait_minutes = target_wait_minutes
        self.port_file = data_dir / "backend.port"
        self.log_file = data_dir / "backend.log"
        self.key_file = data_dir / "jwt.key"
        self._proc: subprocess.Popen[bytes] | None = None
        self.base_url: str | None = None

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "backend", "serve", "--host", "127.0.0.1", "--port", "0",
            "--port-file", str(self.port_file), "--database-url", self.database_url,
            "--target-wait-minutes", str(self.target_wait_minutes), "--jwt-key-file", str(self.key_file),
        ]  # fmt: skip
        if self.seed_demo:
            cmd.append("--seed-demo")
        return cmd

    def launch(self) -> None:
        """Start the process; returns at once. :meth:`wait_ready` tells when it listens."""
        if self._proc is not None and self._proc.poll() is None:
            return
        # The folder holds the database (patient data), the JWT key and the log: the user's alone.
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.data_dir, 0o700)
        self.port_file.unlink(missing_ok=True)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with open(fd, "ab") as out:
            self._proc = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )  # fmt: skip
        log.info("embedded backend starting (pid %s), log %s", self._proc.pid, self.log_file)

    async def wait_ready(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise EmbeddedBackendError(f"the embedded backend exited ({code}); see {self.log_file}")
            try:
                text = self.port_file.read_text().strip()
            except FileNotFoundError:
                text = ""
            if text.isdigit():
                self.base_url = f"http://127.0.0.1:{int(text)}"
                log.info("embedded backend listening at %s", self.base_url)
                return self.base_url
            await asyncio.sleep(0.05)
        raise EmbeddedBackendError(
            f"the embedded backend did not start within {timeout:.0f} s; see {self.log_file}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process. Calling it twice is harmless."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        log.info("embedded backend stopped")
