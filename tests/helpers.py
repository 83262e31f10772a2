"""Small pieces several test modules share."""

from __future__ import annotations

import asyncio
import errno
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# A consult request as the county doctor's workstation sends it.
CONSULT_REQUEST = {
    "patient": {"patient_id": "P-1", "name": "Wang Min", "sex": "F", "birth_date": "1970-01-02"},
    "question": "Nodule in the right upper lobe?",
    "urgency": "urgent",
    "specialty": "radiology",
    "study": None,
}

# Calls small enough for two cores: 320x240 at 15 fps, host candidates only.
SMALL_CALL = {"video_size": (320, 240), "fps": 15.0, "ice_servers": []}


def free_port() -> int:
    """A port free a moment ago. Servers the tests start in this process bind port 0 and report what they
    got instead; this is for programs that need a port on their command line (they retry start-up on a
    new one when it was taken meanwhile: ``PORT_TRIES``, ``PortInUseError``) and for "nothing listens
    there" addresses."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT_TRIES = 3  # start-ups of an external server, each on newly picked ports, before giving up


class PortInUseError(RuntimeError):
    """An external server the tests start could not bind the port picked for it: another process took
    it between ``free_port()`` and the server's start. The caller picks new ports and starts again."""


def start_with_port_retries(
    start_once: Callable[[], T], *, end: Callable[[], None], new_ports: Callable[[], None], root: Path
) -> T:
    """``start_once()``; when it raises PortInUseError, ``end()`` what it started, ``new_ports()`` and try
    again, ``PORT_TRIES`` in all. After the last failure the server's folder ``root`` is removed."""
    for attempt in range(1, PORT_TRIES + 1):
        try:
            return start_once()
        except PortInUseError:
            end()
            if attempt == PORT_TRIES:
                shutil.rmtree(root, ignore_errors=True)
                raise
            new_ports()
    raise AssertionError("unreachable")


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on (or holds) TCP ``port``: binding it fails with EADDRINUSE."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def says_address_in_use(text: str) -> bool:
    """Whether a server's log or error output says a port it wanted was taken (EADDRINUSE)."""
    lowered = text.lower()
    # "Address already in use" (strerror, libmicrohttpd), Orthanc's "... privileged or already in use",
    # coturn's "errno=98"
    return any(words in lowered for words in ("already in use", "address in use", "errno=98", "eaddrinuse"))


async def until(predicate: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


def compose_workstation(
    qtbot: object, role: object, site: dict[str, object], *, demo: bool = False
) -> object:
    """The composed workstation (window, backend link, session) for ``role`` with this site file,
    in the test's isolated TELECONSULT_HOME; the caller closes it (``window.close()``, ``shutdown()``)."""
    from app.context import Workstation
    from app.workstation import compose
    from core.config.paths import app_paths
    from core.config.settings import SiteConfig, UserSettingsStore

    paths = app_paths().ensure()
    store = UserSettingsStore(paths.user_settings_file)
    ws = Workstation(
        paths=paths,
        site=SiteConfig.model_validate(site),
        site_file=None,
        settings_store=store,
        settings=store.load(),
        role=role,  # type: ignore[arg-type]
        language="en",
        demo=demo,
    )
    made = compose(ws)
    qtbot.addWidget(made.window)  # type: ignore[attr-defined]
    return made


def end_process(process: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    """SIGTERM a server the tests started, kill it if it outlives `grace`, close its stderr pipe."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if process.stderr is not None:
        process.stderr.close()


async def far_side_call(**options: Any) -> tuple[Any, Any]:
    """The other site of an in-memory call, started: (our end of the signalling, their CallSession).
    ``options`` go to the CallSession (a small video by default)."""
    from rtc.session import CallSession
    from rtc.signalling import memory_pair

    ours, theirs = memory_pair()
    session = CallSession(theirs, **{"ice_servers": [], "video_size": (160, 120), "fps": 10, **options})
    await session.start()
    return ours, session
