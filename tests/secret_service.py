"""A real Secret Service for tests: gnome-keyring on a private D-Bus session bus, unlocked."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def running_secret_service(home: Path) -> Iterator[None]:
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"{tool} is missing: `make test` installs it (Debian packages dbus, gnome-keyring)"
            )
    saved = {
        k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "HOME")
    }
    runtime_dir = home / "run"
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    bus = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1", "--nosyslog"],
        capture_output=True, text=True, check=True, timeout=10,
    )  # fmt: skip
    address, pid = bus.stdout.split("\n")[:2]
    os.environ.update(
        DBUS_SESSION_BUS_ADDRESS=address.strip(),
        XDG_DATA_HOME=str(home / "share"),
        XDG_RUNTIME_DIR=str(runtime_dir),
        HOME=str(home),
    )
    keyring_proc = subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
        input="test-keyring-password", capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    if keyring_proc.returncode != 0:
        raise RuntimeError(f"gnome-keyring-daemon failed: {keyring_proc.stderr}")
    import keyring
    from keyring.backends import SecretService

    previous = keyring.get_keyring()
    keyring.set_keyring(SecretService.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
        # Only this daemon and this bus: a broad pkill would end another test run's keyring.
        for line in keyring_proc.stdout.splitlines():
            if line.startswith("GNOME_KEYRING_PID="):
                subprocess.run(["kill", line.split("=", 1)[1]], check=False)
        subprocess.run(["kill", pid.strip()], check=False)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
