"""The demo's bedside: a simulated county doctor who sends a consult request over the real backend and,
once the specialist accepts it, joins the call with simulated ultrasound video (DemoBedside)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from typing import Any

from core.client.backend import BackendClient

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


class DemoBedside:
    """The simulated county doctor's end of the call, in this process but on a runtime of its own: she
    signs in as dr.li and joins the consult's room, sending simulated ultrasound video and a tone.

    ``join`` returns at once; ``close`` hangs up and stops her runtime (calling it twice is harmless)."""

    def __init__(self, base_url: str, size: tuple[int, int] = (640, 480), fps: float = 15.0) -> None:
        from rtc.runtime import AsyncRuntime

        self.base_url = base_url
        self.size, self.fps = size, fps
        self.runtime = AsyncRuntime("demo-bedside")
        self.consult_id: int | None = None
        self.session: Any = None  # rtc.session.CallSession once joined
        self._vitals: Any = None  # (SimulatorSource, VitalsUplink) while in the call
        self._client: BackendClient | None = None
        self._closed = False
        self.recording = False  # the instructor records the call: her "● REC" (issue 11)

    def join(self, consult_id: int, delay_s: float = 1.0) -> concurrent.futures.Future[None] | None:
        if self._closed or self.consult_id == consult_id:
            return None
        self.consult_id = consult_id
        self.runtime.start()
        return self.runtime.submit(self._join(consult_id, delay_s))

    async def _join(self, consult_id: int, delay_s: float) -> None:
        from rtc.media import SwitchableVideoTrack, UltrasoundVideoTrack
        from rtc.session import CallSession
        from rtc.signalling import WebSocketSignalling
        from rtc.sources import SyntheticAudioTrack

        await asyncio.sleep(delay_s)
        await self._hang_up()
        client = BackendClient(self.base_url)
        self._client = client
        await client.login("dr.li", "demo")
        source = UltrasoundVideoTrack(*self.size, fps=self.fps)
        video = SwitchableVideoTrack(source, size=self.size, fps=self.fps)
        session = CallSession(
            WebSocketSignalling(lambda: client.signal_url(consult_id)),
            ice_servers=[],
            video_track=video,
            audio_track=SyntheticAudioTrack(frequency=330.0, amplitude=0.05),
        )
        self.session = session
        self._start_vitals(session)
        session.message_received.connect(lambda message: self._on_control(session, message))
        await session.start()
        log.info("demo: the county doctor joined the call of consult %s", consult_id)

    def _start_vitals(self, session: Any) -> None:
        """Her bedside monitor: the tamponade story (tachycardia, falling pressure), streamed on the
        call's ``vitals`` channel as a real bedside workstation streams its monitor."""
        from core.vitals.buffer import VitalsStore
        from core.vitals.link import VitalsUplink
        from core.vitals.simulator import Scenario, SimulatorSource

        store = VitalsStore(seconds=30.0)
        monitor = SimulatorSource(store, Scenario.HYPOTENSION, seed=7)
        monitor.step()
        monitor.start()
        self._vitals = (monitor, VitalsUplink(session, store, consult_id=self.consult_id).start())

    def _on_control(self, session: Any, message: Any) -> None:
        """The instructor's control actions (issue 11): the recording indicator, and the class scenario
        for her simulated monitor (an unknown scenario is refused with the reason)."""
        from core.vitals.simulator import Scenario

        envelope = message.envelope
        if message.channel != "control" or envelope is None or session is not self.session:
            return
        action, args = envelope.body.get("action"), envelope.body.get("args") or {}
        if action == "recording":
            self.recording = bool(args.get("on"))
        elif action == "scenario" and self._vitals is not None:
            try:
                scenario = Scenario(str(args.get("name", "")))
            except ValueError:
                reason = f"unknown scenario {str(args.get('name', ''))[:64]!r}"
                session.send("control", "refused", {"action": "refused", "args": {"reason": reason}})
                return
            self._vitals[0].set_scenario(scenario)

    @property
    def scenario(self) -> str | None:
        """Her simulated monitor's scenario while in the call."""
        return None if self._vitals is None else str(self._vitals[0].scenario.value)

    async def _hang_up(self) -> None:
        session, client = self.session, self._client
        self.session, self._client = None, None
        vitals, self._vitals = self._vitals, None
        if vitals is not None:
            monitor, uplink = vitals
            await uplink.stop()
            monitor.close()
        self.recording = False
        if session is not None:
            await session.close()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.logout()
            await client.aclose()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.runtime.running:
            try:
                self.runtime.run(self._hang_up(), timeout=5)
            except Exception as exc:  # exiting: log and carry on
                log.warning("demo: bedside hang-up: %s", exc)
        self.runtime.stop()
