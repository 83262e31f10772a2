"""A live class peer to peer through the REAL backend room: the specialist teaches, the county doctor is
at the bedside, trainees (student.zhao, a radiology trainee, admitted as viewers) follow through the
specialist's workstation (rtc/classroom.py), and the specialist hands the pointer or the annotation
tool over and takes it back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backend.server import EmbeddedServer
from core.annotations.model import AnnotationDocument
from core.annotations.sync import AnnotationSync
from core.client.backend import BackendClient
from core.consult.patient import Patient
from core.teaching.class_policy import ClassRules
from core.teaching.library import identity_replacer
from core.teaching.live import GRANT, TAKE_BACK, ClassModel, TraineeControl
from rtc.channels import ChannelMessage
from rtc.class_viewer import ViewerSession
from rtc.classroom import ClassHost
from rtc.session import CallSession, CallState
from rtc.signalling import WebSocketSignalling
from rtc.sources import read_frame_counter
from tests.helpers import CONSULT_REQUEST, SMALL_CALL, until

PATIENT = Patient("P-1", "Wang Min", "F", date(1970, 1, 2))
REPLACE = identity_replacer(PATIENT, PATIENT.pseudonymised(b"test-site-salt"))
ARROW = [[0.1, 0.1], [0.5, 0.5]]
# student.zhao is seeded; the others are created by IT for the class (each trainee is a different user)
TRAINEES = ("student.zhao", "student.qian", "student.sun")


@dataclass
class Viewer:
    session: ViewerSession[TraineeControl]
    doc: AnnotationDocument
    sync: AnnotationSync
    messages: list[ChannelMessage] = field(default_factory=list)

    def texts(self, channel: str) -> list[str]:
        return [m.envelope.body.get("text", "") for m in self.messages
                if m.channel == channel and m.envelope is not None]

    def vitals(self) -> list[bytes]:
        return [m.data for m in self.messages if m.channel == "vitals" and m.data is not None]

    def counter(self) -> int:
        frame = self.session.latest_video_frame
        return -1 if frame is None else read_frame_counter(frame.to_ndarray(format="rgb24"))


@dataclass
class Class:
    cid: int
    trainees: list[BackendClient]
    model: ClassModel
    host: ClassHost
    instructor: CallSession
    bedside: CallSession
    instructor_doc: AnnotationDocument
    bedside_doc: AnnotationDocument
    instructor_got: list[ChannelMessage]
    viewers: list[Viewer] = field(default_factory=list)
    syncs: list[AnnotationSync] = field(default_factory=list)

    async def join_viewer(self, index: int) -> Viewer:
        client = self.trainees[index % len(self.trainees)]
        signalling = WebSocketSignalling(lambda: client.signal_url(self.cid))
        session = ViewerSession(signalling, [], replace=REPLACE, control=TraineeControl())
        doc = AnnotationDocument(f"trainee-ws-{index}", TRAINEES[index % len(TRAINEES)])
        viewer = Viewer(session, doc, AnnotationSync(doc, session))
        session.message_received.connect(viewer.messages.append)
        self.viewers.append(viewer)
        await session.start()
        return viewer


TRAINEE_PASSWORD = "quiet-lantern-58"  # the demo users' "demo" would not pass the password rule


async def _signed_in(base: str, username: str) -> BackendClient:
    client = BackendClient(base)
    await client.login(username, "demo" if username not in TRAINEES[1:] else TRAINEE_PASSWORD)
    return client


@contextlib.asynccontextmanager
async def live_class(base: str, viewers: int, janus_url: str | None = None) -> AsyncIterator[Class]:
    doctor, specialist = await _signed_in(base, "dr.li"), await _signed_in(base, "dr.chen")
    admin = await _signed_in(base, "it.admin")
    for username in TRAINEES[1:]:
        user = {"username": username, "password": TRAINEE_PASSWORD, "display_name": username,
                "role": "trainee", "specialties": ["radiology"]}
        await admin.request("POST", "/users", json=user)
    await admin.aclose()
    trainees = [await _signed_in(base, username) for username in TRAINEES]
    consult = await doctor.create_consult(CONSULT_REQUEST)
    await specialist.transition(consult["id"], "accept")
    # Trainees see a consult, and may join its room, once it is in session (backend.access).
    await specialist.transition(consult["id"], "start")
    cid = int(consult["id"])
    model = ClassModel()
    host = ClassHost(ClassRules(model), [], replace=REPLACE, janus_url=janus_url)
    instructor = CallSession(WebSocketSignalling(lambda: specialist.signal_url(cid)), **SMALL_CALL)  # type: ignore[arg-type]
    bedside = CallSession(WebSocketSignalling(lambda: doctor.signal_url(cid)), **SMALL_CALL)  # type: ignore[arg-type]
    host.attach(instructor)  # as link.call_session_hooks does, before start
    instructor_doc = AnnotationDocument("specialist-ws", "dr.chen")
    bedside_doc = AnnotationDocument("county-ws", "dr.li")
    got: list[ChannelMessage] = []
    instructor.message_received.connect(got.append)
    room = Class(cid, trainees, model, host, instructor, bedside, instructor_doc, bedside_doc, got)
    room.syncs = [AnnotationSync(instructor_doc, instructor), AnnotationSync(bedside_doc, bedside)]
    try:
        await instructor.start()
        await bedside.start()
        for index in range(viewers):
            await room.join_viewer(index)
        await instructor.wait_for_state(CallState.CONNECTED, 30)
        for viewer in room.viewers:
            await viewer.session.wait_for_state(CallState.CONNECTED, 30)
        await until(lambda: len(model.viewers) == viewers and all(v.connected for v in model.viewers), 30)
        yield room
    finally:
        await host.aclose()
        for viewer in room.viewers:
            await viewer.session.close()
        await instructor.close()
        await bedside.close()
        await host.aclose()  # twice is harmless
        for client in (doctor, specialist, *trainees):
            await client.aclose()


def _ids(doc: AnnotationDocument) -> set[str]:
    return {a.id for a in doc.annotations}


Pointer = tuple[str, str, tuple[float, ...]]


async def never_arrives(room: Any, b: Any, refused: Any) -> None:
    """``refused`` (a trainee's drawing the host turned down) reached neither site nor trainee b. The
    marker: the instructor draws after the refusal came back; the host would have passed the refused
    drawing on before that, on the same ordered channels, so once the marker is at the bedside and at
    b the refused one can no longer be on its way."""
    marker = room.instructor_doc.add("marker", "video", [[0.9, 0.1]], text="after the refusal")
    await until(lambda: marker.id in _ids(room.bedside_doc) & _ids(b.doc), 30)
    assert refused.id not in _ids(room.instructor_doc) | _ids(room.bedside_doc) | _ids(b.doc)


async def granted_then_taken_back(
    room: Any, a: Any, b: Any, member_a: str, pointers: list[Pointer], text: str = ""
) -> Any:
    """Trainee a's tools beside trainee b, peer to peer or through Janus: without a tool a's drawing is
    dropped and a is told why; granted the annotation tool, a's drawing reaches the instructor, the
    bedside and b, and a's pointer reaches whoever fills ``pointers``; taken back, a drawing is dropped
    again. Returns the drawing that was let through."""
    early = a.doc.add("arrow", "video", ARROW)
    await until(lambda: a.session.control.refusals == 1, 20)
    assert a.session.control.last_refusal == "no_tool"
    await never_arrives(room, b, early)

    room.host.send_control(member_a, GRANT, {"tool": "annotate"})
    await until(lambda: a.session.control.tool == "annotate", 20)
    assert a.session.control.may_send("annotations", "op", {"op": "add"})
    assert b.session.control.tool is None  # the grant was addressed to one trainee
    granted = a.doc.add("ellipse", "video", [[0.2, 0.2], [0.4, 0.4]], text=text)
    everywhere = lambda: _ids(room.instructor_doc) & _ids(room.bedside_doc) & _ids(b.doc)  # noqa: E731
    await until(lambda: granted.id in everywhere(), 20)
    assert room.instructor_doc.get(granted.id).author == "student.zhao"
    a.doc.pointer("video", [0.5, 0.5])
    await until(lambda: ("student.zhao", "video", (0.5, 0.5)) in pointers, 20)

    room.host.send_control(member_a, TAKE_BACK, {})
    await until(lambda: a.session.control.tool is None, 20)
    late = a.doc.add("arrow", "video", ARROW)
    await until(lambda: a.session.control.refusals == 2, 20)
    await never_arrives(room, b, late)
    return granted


async def follows_the_call(room: Any) -> None:
    """What every trainee of a live class gets, peer to peer or through Janus: the bedside's video and
    audio, both sites' annotations, vitals bytes and chat, with the patient's identity scrubbed."""
    # the bedside's video, relayed by the instructor, with its burned-in counter moving on
    await until(lambda: all(v.session.frames_received >= 10 for v in room.viewers), 30)
    first = [v.counter() for v in room.viewers]
    viewers_first = list(zip(room.viewers, first, strict=True))
    await until(lambda: all(v.counter() > c > 0 for v, c in viewers_first), 20)
    await until(lambda: all(v.session.audio_frames_received > 0 for v in room.viewers), 20)

    # annotations drawn at either site reach every trainee
    arrow = room.bedside_doc.add("arrow", "video", ARROW)
    marker = room.instructor_doc.add("marker", "video", [[0.3, 0.7]], text="Wang Min's lesion")
    await until(lambda: all({arrow.id, marker.id} <= _ids(v.doc) for v in room.viewers), 20)
    seen = room.viewers[0].doc.get(marker.id)
    assert seen is not None and "Wang Min" not in seen.text and "Patient" in seen.text
    assert room.instructor_doc.get(marker.id).text == "Wang Min's lesion"  # type: ignore[union-attr]

    # vitals bytes, lossy channel: the bedside keeps streaming until every trainee has one
    payload = b"\x01vitals-batch\x00\xff"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        room.bedside.send_bytes("vitals", payload)
        if all(payload in v.vitals() for v in room.viewers):
            break
        await asyncio.sleep(0.05)
    assert all(payload in v.vitals() for v in room.viewers)

    # chat, pseudonymised on the way: the patient's name and id never reach a trainee
    bedside_says = "Wang Min (P-1) is stable, WANG MIN"
    room.bedside.send("chat", "text", {"text": bedside_says, "author": "dr.li"})
    room.instructor.send("chat", "text", {"text": "Look at wang min's scan", "author": "dr.chen"})
    await until(lambda: all(len(v.texts("chat")) == 2 for v in room.viewers), 20)
    assert any("Wang Min (P-1)" in t for m in room.instructor_got if m.envelope is not None
               for t in [str(m.envelope.body.get("text"))])
    for viewer in room.viewers:
        everything = json.dumps([m.envelope.model_dump() for m in viewer.messages if m.envelope])
        assert "wang min" not in everything.lower() and "P-1" not in everything
        assert sorted(viewer.texts("chat"))[1].startswith("Patient ")  # "Look at ..." sorts first


def test_viewers_follow_video_annotations_vitals_chat_and_recording(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with live_class(base, viewers=3) as room:
            assert all(v.session.control.instructor == "dr.chen" for v in room.viewers)
            assert {v.session.instructor_id for v in room.viewers} == {room.instructor.signalling.member_id}
            await follows_the_call(room)

            # the recording indicator at every site
            bedside_control: list[dict[str, Any]] = []

            def on_bedside(message: ChannelMessage) -> None:
                if message.channel == "control" and message.envelope is not None:
                    bedside_control.append(message.envelope.body)

            room.bedside.message_received.connect(on_bedside)
            room.host.broadcast_control("recording", {"on": True})
            await until(lambda: all(v.session.control.recording for v in room.viewers), 20)
            await until(lambda: {"action": "recording", "args": {"on": True}} in bedside_control, 20)
            assert room.model.recording
            room.host.broadcast_control("recording", {"on": False})
            await until(lambda: not any(v.session.control.recording for v in room.viewers), 20)

            # a trainee who leaves is gone from the class; the others go on
            leaving = room.viewers.pop()
            await leaving.session.close()
            await until(lambda: len(room.model.viewers) == 2, 20)
            assert leaving.session.state is CallState.ENDED

    asyncio.run(asyncio.wait_for(scenario(), 110))


def test_hand_over_and_take_back_the_tools(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with live_class(base, viewers=2) as room:
            a, b = room.viewers
            member_a = next(v.member_id for v in room.model.viewers
                            if room.host.links[v.member_id].session.peer_id == a.session.signalling.member_id)
            pointers: list[Pointer] = []
            room.instructor_doc.pointer_moved.connect(pointers.append)
            bedside_pointers: list[Pointer] = []
            room.bedside_doc.pointer_moved.connect(bedside_pointers.append)

            await granted_then_taken_back(room, a, b, member_a, pointers)

            # pointer only: the pointer passes, a drawing does not
            room.host.send_control(member_a, GRANT, {"tool": "pointer"})
            await until(lambda: a.session.control.tool == "pointer", 20)
            a.doc.pointer("video", [0.25, 0.75])
            await until(lambda: ("student.zhao", "video", (0.25, 0.75)) in bedside_pointers, 20)
            assert ("student.zhao", "video", (0.25, 0.75)) in pointers
            drawn = a.doc.add("arrow", "video", ARROW)
            await until(lambda: a.session.control.refusals == 3, 20)
            assert a.session.control.last_refusal == "not_permitted"
            await never_arrives(room, b, drawn)
            assert b.session.control.tool is None and b.session.control.refusals == 0
            assert room.host.refused == 3 and room.host.accepted >= 3

    asyncio.run(asyncio.wait_for(scenario(), 110))


def test_late_joiner_gets_the_annotations_and_the_recording_flag(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with live_class(base, viewers=0) as room:
            arrow = room.bedside_doc.add("arrow", "video", ARROW)
            marker = room.instructor_doc.add("marker", "video", [[0.3, 0.7]], text="Wang Min")
            room.bedside_doc.delete(arrow.id)
            ruler = room.bedside_doc.add("ruler", "video", [[0.1, 0.9], [0.6, 0.9]])
            await until(lambda: _ids(room.instructor_doc) == {marker.id, ruler.id}, 20)
            room.host.broadcast_control("recording", {"on": True})
            late = await room.join_viewer(0)
            await late.session.wait_for_state(CallState.CONNECTED, 30)
            await until(lambda: _ids(late.doc) == {marker.id, ruler.id}, 20)
            assert late.sync.snapshots_received >= 1
            assert late.doc.get(marker.id).text.startswith("Patient ")  # type: ignore[union-attr]
            await until(lambda: late.session.control.recording, 20)
            await until(lambda: late.session.frames_received > 0, 20)

    asyncio.run(asyncio.wait_for(scenario(), 110))


# --- figures: the instructor's process alone, the bedside and three trainees in another process -------


def _peers(
    base: str, cid: int, viewers: int, go: Any, seconds: float, call: dict[str, Any] | None = None
) -> None:
    """The bedside at once; the trainees once ``go`` (a multiprocessing Event) is set."""
    options = call or SMALL_CALL

    async def run() -> None:
        doctor, trainee = await _signed_in(base, "dr.li"), await _signed_in(base, "student.zhao")
        sessions: list[CallSession] = [
            CallSession(WebSocketSignalling(lambda: doctor.signal_url(cid)), **options)
        ]
        for _ in range(viewers):
            signalling = WebSocketSignalling(lambda: trainee.signal_url(cid))
            sessions.append(ViewerSession(signalling, [], control=TraineeControl()))
        try:
            await sessions[0].start()
            await asyncio.to_thread(go.wait, seconds)
            for session in sessions[1:]:
                await session.start()
            await asyncio.sleep(seconds)
        finally:
            for session in sessions:
                await session.close()
            await doctor.aclose()
            await trainee.aclose()

    asyncio.run(run())


@dataclass
class MeasuredClass:
    model: ClassModel
    host: ClassHost
    instructor: CallSession
    go: Any  # set it to let the trainees (in the other process) join


@contextlib.asynccontextmanager
async def instructor_in_call(
    base: str, trainees: int, trainees_stay_s: float, janus_url: str | None = None
) -> AsyncIterator[MeasuredClass]:
    """The instructor's process alone, for measuring it: the specialist's call and class host here, the
    bedside and ``trainees`` trainees in a spawned process (_peers) that waits for ``go``. Entered once
    the bedside's video flows."""
    doctor, specialist = await _signed_in(base, "dr.li"), await _signed_in(base, "dr.chen")
    consult = await doctor.create_consult(CONSULT_REQUEST)
    await specialist.transition(consult["id"], "accept")
    # Trainees see a consult, and may join its room, once it is in session (backend.access).
    await specialist.transition(consult["id"], "start")
    await doctor.aclose()
    cid = int(consult["id"])
    model = ClassModel()
    host = ClassHost(ClassRules(model), [], replace=REPLACE, janus_url=janus_url)
    instructor = CallSession(WebSocketSignalling(lambda: specialist.signal_url(cid)), **SMALL_CALL)  # type: ignore[arg-type]
    host.attach(instructor)
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    peers = context.Process(target=_peers, args=(base, cid, trainees, go, trainees_stay_s))
    try:
        await instructor.start()
        peers.start()
        await instructor.wait_for_state(CallState.CONNECTED, 40)
        await until(lambda: instructor.frames_received > 30, 30)
        yield MeasuredClass(model, host, instructor, go)
    finally:
        await host.aclose()
        await instructor.close()
        await specialist.aclose()
        await asyncio.to_thread(peers.join, 30)
        if peers.is_alive():
            peers.terminate()


def test_instructor_cpu_and_bandwidth_with_three_viewers(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> dict[str, dict[str, float]]:
        async with instructor_in_call(base, 3, 40.0) as run:
            alone = await run.host.measure(6.0)  # the consult alone: decode the bedside, encode our camera
            run.go.set()
            model = run.model
            await until(lambda: len(model.viewers) == 3 and all(v.connected for v in model.viewers), 40)
            await until(lambda: all(link.video.frames_forwarded > 30 for link in run.host.links.values()), 30)
            start = run.instructor.frames_received
            with_viewers = await run.host.measure(8.0)
            with_viewers["bedside_frames_per_s"] = (run.instructor.frames_received - start) / 8.0
            return {"consult_alone": alone, "with_3_viewers": with_viewers}

    figures = asyncio.run(asyncio.wait_for(scenario(), 115))
    rounded = {name: {k: round(v, 1) for k, v in part.items()} for name, part in figures.items()}
    print("instructor's process, 320x240 at 15 fps:", json.dumps(rounded))
    assert figures["consult_alone"]["viewers"] == 0 and figures["with_3_viewers"]["viewers"] == 3
    assert figures["with_3_viewers"]["kbps_to_viewers"] > 0
    assert figures["consult_alone"]["kbps_to_viewers"] == 0


# --- in one process, through the in-memory room: the UI thread's side, rejoins, what a viewer may send ---


def test_ui_thread_grants_and_closes_and_the_class_survives_a_rejoin() -> None:
    from rtc.runtime import AsyncRuntime
    from rtc.signalling import InMemoryRoom

    runtime = AsyncRuntime().start()
    room = InMemoryRoom()
    model = ClassModel()
    host = ClassHost(ClassRules(model), [], replace=REPLACE, keyframe_interval=1.0)
    changes: list[int] = []
    model.changed.connect(lambda: changes.append(1))

    async def build() -> tuple[CallSession, CallSession, ViewerSession[TraineeControl], list[ChannelMessage]]:
        instructor = CallSession(room.join("dr.chen"), **SMALL_CALL)  # type: ignore[arg-type]
        bedside = CallSession(room.join("dr.li"), **SMALL_CALL)  # type: ignore[arg-type]
        host.attach(instructor)
        viewer = ViewerSession(
            room.join("student.zhao", viewer=True), [], replace=REPLACE, control=TraineeControl()
        )
        got: list[ChannelMessage] = []
        viewer.message_received.connect(got.append)
        for session in (instructor, bedside, viewer):
            await session.start()
        for session in (instructor, viewer):
            await session.wait_for_state(CallState.CONNECTED, 30)
        return instructor, bedside, viewer, got

    def wait(predicate: Any, timeout: float = 20.0) -> None:
        runtime.run(until(predicate, timeout), timeout + 5)

    try:
        instructor, bedside, viewer, got = runtime.run(build(), 40)
        wait(lambda: len(model.viewers) == 1 and model.viewers[0].connected)
        member = model.viewers[0].member_id
        host.send_control(member, GRANT, {"tool": "pointer"})  # from this thread, as the UI does
        wait(lambda: viewer.control.tool == "pointer")
        assert model.viewer(member).tool == "pointer"  # type: ignore[union-attr]
        grants = [m.envelope.body for m in got if m.channel == "control" and m.envelope is not None
                  and m.envelope.kind == "grant"]
        assert grants == [{"action": "grant", "args": {"tool": "pointer"}}]  # re-emitted as it was sent

        # a trainee's own control messages (view-mirror replies) are dropped quietly; chat is refused
        following = {"action": "following", "args": {}}
        runtime.loop.call_soon_threadsafe(lambda: viewer.send("control", "following", following))
        runtime.loop.call_soon_threadsafe(lambda: viewer.send("chat", "text", {"text": "hi", "author": "x"}))
        wait(lambda: viewer.control.refusals == 1)
        assert viewer.control.last_refusal == "not_permitted" and host.refused == 1

        # the class's own actions between the instructor and the bedside never reach a trainee
        def bedside_control() -> None:
            for action, args in (("refused", {"reason": "unknown scenario"}), ("take_back", {}),
                                 ("scenario", {"name": "sepsis"})):
                bedside.send("control", action, {"action": action, "args": args})
            # then one the class does forward, on the same ordered channel: it arrives after the others
            bedside.send("control", "following", {"action": "following", "args": {}})

        runtime.loop.call_soon_threadsafe(bedside_control)
        wait(lambda: any(m.envelope is not None and m.envelope.kind == "following" for m in got))
        assert viewer.control.refusals == 1 and viewer.control.tool == "pointer"
        assert not any(m.envelope is not None and m.envelope.kind == "scenario" for m in got)

        # the instructor's signalling drops and rejoins with a new member id: the class is rebuilt
        old_instructor_id = instructor.signalling.member_id
        runtime.loop.call_soon_threadsafe(instructor.signalling.drop)  # type: ignore[attr-defined]
        wait(lambda: viewer.peer_id not in (None, old_instructor_id), 30)
        runtime.run(viewer.wait_for_state(CallState.CONNECTED, 30), 35)
        wait(lambda: len(model.viewers) == 1 and model.viewers[0].connected, 30)
        assert model.viewers[0].tool is None  # a new membership holds nothing
        frames = viewer.frames_received
        wait(lambda: viewer.frames_received > frames + 5, 20)

        # the instructor hangs up: the trainee holds nothing any more, and the class is empty
        host.send_control(model.viewers[0].member_id, GRANT, {"tool": "annotate"})
        wait(lambda: viewer.control.tool == "annotate")
        runtime.run(instructor.close(), 10)
        wait(lambda: viewer.control.tool is None and viewer.state is CallState.RECONNECTING)
        assert model.viewers == [] and changes
        host.close()  # from this thread
        host.close()
        runtime.run(viewer.close(), 10)
        runtime.run(bedside.close(), 10)
        assert viewer.state is CallState.ENDED
    finally:
        host.close()
        runtime.stop()
