"""A real Janus (the Debian `janus` package) on loopback for the class tests and the benchmark.

A temporary config folder holds a minimal janus.jcfg (no STUN, no TURN, IPv4 only, quiet logs, RTP
ports in a range of their own), the plain-HTTP transport on 127.0.0.1 and a free port, and the video
room plugin; every other plugin and transport is disabled so start-up is quick and nothing else
listens. :meth:`Janus.start` waits until ``GET /janus/info`` answers.

ICE and loopback: Janus 1.1 never gathers candidates on a loopback interface (ice.c skips every
interface flagged IFF_LOOPBACK, whatever ``ice_enforce_list`` says), and when the enforce list matches
nothing libnice falls back to gathering on ALL other interfaces, IPv6 included (measured here with
``ice_enforce_list = "lo"`` and ``"127.0.0.1"``). So the enforce list names this host's own IPv4
address, the one the aiortc peers also use: one host candidate, and packets between two addresses of
this machine go through the kernel's local (loopback) path and never leave it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.helpers import (
    PortInUseError,
    end_process,
    free_port,
    port_taken,
    says_address_in_use,
    start_with_port_retries,
)

JANUS = os.environ.get("TELECONSULT_JANUS", "/usr/bin/janus")
JANUS_LIB = Path(os.environ.get("TELECONSULT_JANUS_LIB", "/usr/lib/x86_64-linux-gnu/janus"))

OTHER_PLUGINS = (
    "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,"
    "libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,"
    "libjanus_videocall.so,libjanus_voicemail.so"
)
OTHER_TRANSPORTS = (
    "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_rabbitmq.so"
)


def host_ipv4() -> str:
    """The first non-loopback IPv4 address of this machine (what aiortc's host candidates use too)."""
    import ifaddr  # aioice's own dependency: the same view of the interfaces as the aiortc peers

    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if ip.is_IPv4 and isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                return ip.ip
    raise RuntimeError("no non-loopback IPv4 address: Janus cannot gather an ICE candidate on loopback")


class JanusMissingError(RuntimeError):
    """/usr/bin/janus is not installed."""


class Janus:
    """/usr/bin/janus with the HTTP API on 127.0.0.1 (``base_url``) and the video room plugin."""

    def __init__(self, debug_level: int = 2) -> None:
        if not Path(JANUS).exists():
            raise JanusMissingError(f"{JANUS} not found: install the Debian package janus (make test does)")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tc-janus-"))
        self.log_file = self.root / "janus.log"
        self.debug_level = debug_level
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    def _write_config(self) -> None:
        # RTP ports in a window derived from the HTTP port, so parallel Janus instances rarely collide.
        rtp_low = 40000 + (self.port % 10000)
        (self.root / "janus.jcfg").write_text(
            f"""general: {{
    configs_folder = "{self.root}"
    plugins_folder = "{JANUS_LIB / "plugins"}"
    transports_folder = "{JANUS_LIB / "transports"}"
    events_folder = "{JANUS_LIB / "events"}"
    loggers_folder = "{JANUS_LIB / "loggers"}"
    debug_level = {self.debug_level}
    debug_colors = false
    log_to_stdout = false
    log_to_file = "{self.log_file}"
    session_timeout = 60
}}
certificates: {{
}}
media: {{
    rtp_port_range = "{rtp_low}-{rtp_low + 400}"
}}
nat: {{
    nice_debug = false
    ice_enforce_list = "{host_ipv4()}"
    ignore_mdns = true
}}
plugins: {{
    disable = "{OTHER_PLUGINS}"
}}
transports: {{
    disable = "{OTHER_TRANSPORTS}"
}}
loggers: {{
    disable = "libjanus_jsonlog.so"
}}
events: {{
    broadcast = false
}}
"""
        )
        (self.root / "janus.transport.http.jcfg").write_text(
            f"""general: {{
    json = "plain"
    base_path = "/janus"
    http = true
    port = {self.port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
    admin_https = false
}}
"""
        )
        (self.root / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")

    def start(self, timeout: float = 20.0) -> Janus:
        """Start Janus and wait until it answers; when its HTTP port was taken meanwhile, start again on
        a new one (``PORT_TRIES`` in all)."""

        def new_ports() -> None:
            self.port = free_port()
            self.log_file.unlink(missing_ok=True)

        return start_with_port_retries(
            lambda: self._start_once(timeout), end=self._end, new_ports=new_ports, root=self.root
        )

    def _start_once(self, timeout: float) -> Janus:
        self._write_config()
        command = [JANUS, "-F", str(self.root), "-C", str(self.root / "janus.jcfg")]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        process = self._process
        while not self.answers():
            taken = says_address_in_use(self.log_tail())
            if taken or process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:  # it did not start: end it, then its stderr can be read to the end
                    process.kill()
                    process.wait(5)
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                tail = self.log_tail()
                # libmicrohttpd's bind error does not reach the log; Janus says only that it "Couldn't start
                # webserver on port N" (and exits): whether the port is held by someone else tells why
                if says_address_in_use(error + tail) or (
                    "couldn't start webserver" in (error + tail).lower() and port_taken(self.port)
                ):
                    raise PortInUseError(f"janus could not bind port {self.port}: {error[-1500:]}\n{tail}")
                self.stop()
                raise RuntimeError(f"janus did not start: {error[-1500:]}\n{tail}")
            time.sleep(0.1)
        return self

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/info", timeout=0.5) as reply:
                info = json.loads(reply.read())
        except (OSError, urllib.error.URLError, ValueError):
            return False
        return info.get("janus") == "server_info" and "janus.plugin.videoroom" in info.get("plugins", {})

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """End Janus and remove its folder. Calling it twice is harmless."""
        self._end()
        shutil.rmtree(self.root, ignore_errors=True)

    def _end(self) -> None:
        process, self._process = self._process, None
        end_process(process, 10)

    def __enter__(self) -> Janus:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
