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


REPORTED_REQUEST = {
    "patient": {"patient_id": "EC-2026-0311", "name": "Wang Min", "sex": "F", "birth_date": "1949-11-20"},
    "question": "Palpitations since this morning, irregular pulse 130. New atrial fibrillation? "
    "Anticoagulate before transfer?",
    "urgency": "urgent",
    "specialty": "cardiology",
    "study": None,
}
REPORTED_VITALS = {"hr": (128, "/min"), "spo2": (95, "%"), "rr": (20, "/min"), "nibp_sys": (118, "mmHg"),
                   "nibp_dia": (74, "mmHg"), "temp": (36.8, "Cel")}  # fmt: skip


async def demo_final_report(base_url: str) -> int | None:
    """One consult of the demo ends in a final report, made as clinicians make it (issue #21): the county
    doctor asks, Dr. Chen accepts and writes the report and signs it with her own key, Dr. Wang (a second
    cardiologist) co-signs; the consult is then closed. Nothing is done when the demo has it already.
    Returns the report's id. The signing keys of these simulated colleagues live in memory only."""
    from core.report.desk import ReportDesk
    from core.report.keys import SigningKeys
    from core.report.model import Clinician, Measurement, Section
    from core.report.prefill import build_report

    patient_id = REPORTED_REQUEST["patient"]["patient_id"]  # type: ignore[index]
    clients = {u: BackendClient(base_url) for u in ("dr.li", "dr.chen", "dr.wang")}
    try:
        for username, client in clients.items():
            await client.login(username, "demo")
        li, chen, wang = clients["dr.li"], clients["dr.chen"], clients["dr.wang"]
        if any(c["patient"]["patient_id"] == patient_id for c in await li.consults()):
            return None
        from datetime import UTC, datetime

        vitals = {k: {"value": v, "unit": u} for k, (v, u) in REPORTED_VITALS.items()}
        request = REPORTED_REQUEST | {
            "vitals": {"taken_at": datetime.now(UTC).isoformat(), "numerics": vitals}
        }
        consult = await li.create_consult(request)
        consult = await chen.transition(int(consult["id"]), "accept")
        author = Clinician("dr.chen", "Dr. Chen Jing", "specialist", "cardiology")
        ecg = Section(
            "cardiology.ecg",
            "ECG measurements",
            ("Measure", "Value"),
            (("Heart rate", "128 /min"), ("Rhythm", "Irregularly irregular, no P waves"), ("QRS", "88 ms")),
            (
                Measurement("Heart rate", 128.0, "/min", "ECG beat detection"),
                Measurement("QRS duration", 88.0, "ms", "ECG interval"),
            ),
        )
        draft = build_report(consult, author, sections=[ecg])
        from dataclasses import replace

        draft = replace(
            draft,
            findings="Atrial fibrillation with rapid ventricular response (128/min). No ischaemic changes. "
            "Haemodynamically stable.",
            impression="New-onset atrial fibrillation, CHA2DS2-VASc 4.",
            recommendations="Rate control with metoprolol 25 mg. Start apixaban 5 mg twice daily unless "
            "bleeding risk forbids. Echo at the regional centre.",
            follow_up="Outpatient cardiology in 2 weeks; call if the rate stays above 110.",
        )
        desk = ReportDesk(chen, SigningKeys.in_memory(), me=author)
        second = ReportDesk(
            wang, SigningKeys.in_memory(), me=Clinician("dr.wang", "Dr. Wang Lei", "specialist", "cardiology")
        )
        saved = await desk.save_draft(draft)
        await desk.sign(saved.id, saved.report)
        await second.cosign(saved.id)
        await chen.transition(int(consult["id"]), "close", {"outcome": "Rate control and anticoagulation."})
        log.info("demo: consult %s has a final, co-signed report (%s)", consult["id"], saved.id)
        return saved.id
    finally:
        for client in clients.values():
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
