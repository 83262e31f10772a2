"""The demo's bedside: a simulated county doctor who sends a consult request over the real backend."""

from __future__ import annotations

import asyncio
import logging

from app.backend_client import BackendClient

log = logging.getLogger(__name__)

LIVE_REQUEST = {
    "patient": {"patient_id": "US-2026-0107", "name": "Liu Fang", "sex": "F", "birth_date": "1958-09-02"},
    "question": "Pericardial effusion on bedside echo, BP falling. Please guide an ultrasound-guided "
    "pericardiocentesis.",
    "urgency": "emergency",
    "specialty": "ultrasound",
    "study": None,
}


async def county_doctor_sends_request(base_url: str, delay_s: float = 3.0) -> int | None:
    """Signs in as the demo county doctor and opens a request unless one of hers is already open."""
    await asyncio.sleep(delay_s)
    client = BackendClient(base_url)
    try:
        await client.login("dr.li", "demo")
        mine = await client.consults()
        if any(c["patient"]["patient_id"] == LIVE_REQUEST["patient"]["patient_id"] for c in mine):  # type: ignore[index]
            return None
        created = await client.create_consult(LIVE_REQUEST)
        log.info("demo: the county doctor opened consult %s", created["id"])
        return int(created["id"])
    finally:
        await client.logout()
        await client.aclose()
