"""Real peers, servers and networks for the WebRTC integration tests: coturn on loopback, headless
Chromium, and a network namespace joined to this one by a veth pair whose link can be pulled.

coturn and Chromium are Debian packages (`coturn`, `chromium`) that `make test` installs; a missing
binary fails the test with a message saying so rather than skipping it. Namespaces need root (or
CAP_NET_ADMIN); without them the namespace test is skipped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.helpers import PortInUseError, end_process, free_port, says_address_in_use, start_with_port_retries

TURNSERVER = os.environ.get("TELECONSULT_TURNSERVER", "/usr/bin/turnserver")
CHROMIUM = os.environ.get("TELECONSULT_CHROMIUM", "/usr/bin/chromium")
TURN_USER, TURN_PASSWORD, TURN_REALM = "u", "p", "test"


def _require(binary: str, package: str) -> None:
    if not Path(binary).exists():
        pytest.fail(f"{binary} not found: install the Debian package {package} (make test does)", False)


def stun_ping(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    """One STUN Binding request; True when a Binding success response comes back."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (host, port))
            data, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == request[8:20]


class Coturn:
    """/usr/bin/turnserver on 127.0.0.1, long-term credentials u:p, relaying between loopback peers."""

    def __init__(self) -> None:
        _require(TURNSERVER, "coturn")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tc-turn-"))
        self.log_file = self.root / "turn.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> Coturn:
        """Start turnserver and wait until it answers STUN; when its port was taken meanwhile, start again
        on a new one (``PORT_TRIES`` in all)."""

        def new_ports() -> None:
            self.port = free_port()
            for log in self.root.glob("turn*.log"):
                log.unlink(missing_ok=True)

        return start_with_port_retries(
            lambda: self._start_once(timeout), end=self._end, new_ports=new_ports, root=self.root
        )

    def _start_once(self, timeout: float) -> Coturn:
        relay_low = 20000 + (self.port % 20000)
        command = [
            TURNSERVER,
            "-n",
            "--listening-ip", "127.0.0.1",
            "--relay-ip", "127.0.0.1",
            "--listening-port", str(self.port),
            "--min-port", str(relay_low),
            "--max-port", str(relay_low + 200),
            "--lt-cred-mech",
            "--user", f"{TURN_USER}:{TURN_PASSWORD}",
            "--realm", TURN_REALM,
            "--no-tls",
            "--no-dtls",
            "--allow-loopback-peers",
            "--no-cli",
            "--userdb", str(self.root / "turndb"),
            "--pidfile", str(self.root / "turn.pid"),
            "--log-file", str(self.log_file),
            "--simple-log",
            "--no-stdout-log",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        process = self._process
        while not stun_ping(self.port):
            taken = says_address_in_use(self.log_tail())
            if taken or process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:  # it did not start: end it, then its stderr can be read to the end
                    process.kill()
                    process.wait(5)
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                tail = self.log_tail()
                if says_address_in_use(error + tail):
                    raise PortInUseError(
                        f"turnserver could not bind port {self.port}: {error[-1500:]}\n{tail}"
                    )
                self.stop()
                raise RuntimeError(f"turnserver did not start: {error[-1500:]}\n{tail}")
            time.sleep(0.1)
        return self

    def log_tail(self, chars: int = 3000) -> str:
        logs = sorted(self.root.glob("turn*.log"))
        return "".join(p.read_text(errors="replace") for p in logs)[-chars:]

    def ice_servers(self, port: int | None = None) -> list[dict[str, Any]]:
        """The ICE server entry for this TURN server (or for a relay in front of it at ``port``)."""
        return [
            {
                "urls": f"turn:127.0.0.1:{port or self.port}?transport=udp",
                "username": TURN_USER,
                "credential": TURN_PASSWORD,
            }
        ]

    def stop(self) -> None:
        self._end()
        shutil.rmtree(self.root, ignore_errors=True)

    def _end(self) -> None:
        process, self._process = self._process, None
        end_process(process, 5)

    def __enter__(self) -> Coturn:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Chromium:
    """Headless Chromium with its fake camera and microphone, opening one URL."""

    def __init__(self, url: str) -> None:
        _require(CHROMIUM, "chromium")
        self.url = url
        self.profile = Path(tempfile.mkdtemp(prefix="tc-chromium-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.log_file = self.profile / "chromium.log"

    def start(self) -> Chromium:
        command = [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            f"--user-data-dir={self.profile}",
            f"--remote-debugging-port={free_port()}",
            self.url,
        ]
        with open(self.log_file, "wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_file.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # Chromium forks helpers into its own session: end the whole group we started.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


CLONE_NEWNET = 0x40000000


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class VethNamespace:
    """A network namespace with one veth link to this one: ``root_ip`` here, ``ns_ip`` there.

    :meth:`enter_current_thread` moves the calling thread (an rtc runtime thread) into the namespace:
    every socket it opens afterwards lives there, so its traffic can only leave through the veth
    link, which :meth:`cut` takes down and :meth:`restore` brings back (a pulled cable).
    """

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.name = f"tc-{tag}"
        self.root_dev, self.ns_dev = f"tcr{tag}", f"tcn{tag}"
        subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(256)}"
        self.root_ip, self.ns_ip = f"{subnet}.1", f"{subnet}.2"
        self._created = False

    @staticmethod
    def available() -> bool:
        probe = f"tc-probe-{secrets.token_hex(3)}"
        try:
            _ip("netns", "add", probe)
        except (OSError, subprocess.SubprocessError):
            return False
        with contextlib.suppress(OSError):
            _ip("netns", "del", probe)
        return True

    def create(self) -> VethNamespace:
        _ip("netns", "add", self.name)
        self._created = True
        _ip("link", "add", self.root_dev, "type", "veth", "peer", "name", self.ns_dev)
        _ip("link", "set", self.ns_dev, "netns", self.name)
        _ip("addr", "add", f"{self.root_ip}/30", "dev", self.root_dev)
        _ip("link", "set", self.root_dev, "up")
        inside = ("netns", "exec", self.name, "ip")
        _ip(*inside, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_dev)
        _ip(*inside, "link", "set", self.ns_dev, "up")
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "route", "add", "default", "via", self.root_ip)
        return self

    def enter_current_thread(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"setns into {self.name}: {os.strerror(errno)}")
        finally:
            os.close(fd)

    def cut(self) -> None:
        _ip("link", "set", self.root_dev, "down")

    def restore(self) -> None:
        _ip("link", "set", self.root_dev, "up")

    def delete(self) -> None:
        if not self._created:
            return
        self._created = False
        with contextlib.suppress(OSError):
            _ip("link", "del", self.root_dev)  # removes both ends
        with contextlib.suppress(OSError):
            _ip("netns", "del", self.name)

    def __enter__(self) -> VethNamespace:
        return self.create()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.delete()
