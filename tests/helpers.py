"""Small pieces several test modules share."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
