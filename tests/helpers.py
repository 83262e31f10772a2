"""Small pieces several test modules share."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

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
