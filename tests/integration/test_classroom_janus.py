"""A live class through a REAL Janus (the Debian `janus` package, video room) and the REAL backend room:
the specialist teaches, the county doctor is at the bedside, and the trainees subscribe to the ONE stream
the specialist's workstation publishes into Janus (rtc/classroom.py ClassHost with ``janus_url``). What
concerns one trainee (its tool, refusals, the snapshot) and what a trainee sends travel over the
backend's signalling; when Janus cannot be reached the class goes peer to peer instead.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from aiortc.stats import RTCOutboundRtpStreamStats

from backend.server import EmbeddedServer
from core.teaching.class_policy import ClassRules
from core.teaching.live import ClassModel, TraineeControl
from rtc.class_viewer import ViewerSession
from rtc.classroom import ClassHost
from rtc.janus import JanusClient, JanusError
from rtc.session import CallSession, CallState
from tests.helpers import SMALL_CALL, free_port, until
from tests.integration.janus_env import Janus
from tests.integration.test_classroom import (
    REPLACE,
    Pointer,
    _ids,
    follows_the_call,
    granted_then_taken_back,
    instructor_in_call,
    live_class,
)


async def _janus_publishers(base_url: str, room: int) -> list[int]:
    client = JanusClient(base_url)
    try:
        return [int(p["id"]) for p in await client.participants(room) if p.get("publisher")]
    finally:
        await client.close()


def test_three_trainees_follow_through_janus(server: EmbeddedServer, janus: Janus) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with live_class(base, viewers=3, janus_url=janus.base_url) as room:
            host = room.host
            assert host.janus_status == "publishing" and host.janus_source is not None
            assert host.links == {}  # no peer connection per trainee
            assert all(
                v.session.through_janus and v.session.janus_source == host.janus_source for v in room.viewers
            )
            assert all(v.session.control.instructor == "dr.chen" for v in room.viewers)
            assert {v.session.instructor_id for v in room.viewers} == {room.instructor.signalling.member_id}

            await follows_the_call(room)  # video, audio, annotations, vitals, chat, scrubbed

            # the recording indicator, on the class channel
            room.host.broadcast_control("recording", {"on": True})
            await until(lambda: all(v.session.control.recording for v in room.viewers), 20)

            # ONE video stream out of the instructor's workstation, whatever the class size
            assert host.publisher is not None
            report = await host.publisher.stats()
            assert report is not None
            video_out = [
                s for s in report.values() if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video"
            ]
            assert len(video_out) == 1 and len(host.publisher.pc.getSenders()) == 2  # video + audio
            source = host.janus_source
            assert await _janus_publishers(janus.base_url, source.room) == [source.feed]
            figures = await host.measure(3.0)
            assert figures["video_streams_out"] == 1 and figures["viewers"] == 3
            assert figures["kbps_to_viewers"] > 0  # how much, in 3 s, depends on the machine's load

            # the instructor hangs up: the publication and the room are gone, the trainees hold nothing
            await room.instructor.close()
            await until(lambda: host.janus_status == "closed", 20)
            assert host.publisher is None and room.model.viewers == []
            with pytest.raises(JanusError) as gone:
                await _janus_publishers(janus.base_url, source.room)
            assert gone.value.code == 426  # no such room
            await until(lambda: all(not v.session.control.recording for v in room.viewers), 20)

    asyncio.run(asyncio.wait_for(scenario(), 110))


def test_tools_over_signalling_and_a_late_joiner_through_janus(server: EmbeddedServer, janus: Janus) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with live_class(base, viewers=2, janus_url=janus.base_url) as room:
            a, b = room.viewers
            member_a = a.session.signalling.member_id
            assert member_a is not None and room.model.viewer(member_a) is not None
            pointers: list[Pointer] = []
            room.bedside_doc.pointer_moved.connect(pointers.append)

            # refused without a tool (the trainee is told over signalling), granted (the op reaches the
            # others through Janus), taken back
            granted = await granted_then_taken_back(room, a, b, member_a, pointers, text="Wang Min")
            assert b.doc.get(granted.id).text.startswith("Patient ")  # type: ignore[union-attr]
            await until(lambda: b.sync.ops_received >= 2, 20)
            # Janus relays to all; the author's own copy is left out (what a did get: the instructor's
            # markers, drawn after each refusal, which follow a's ops on the same ordered path)
            own = [m for m in a.messages if m.channel == "annotations" and m.envelope is not None
                   and m.envelope.body.get("author") == "student.zhao"]
            assert own == [] and a.sync.ops_received > 0
            assert room.host.refused == 2 and room.host.accepted >= 2
            assert b.session.control.refusals == 0

            # a late joiner: told where to subscribe, then the document (snapshot) and the recording flag
            room.host.broadcast_control("recording", {"on": True})
            await until(lambda: all(v.session.control.recording for v in room.viewers), 20)
            late = await room.join_viewer(2)
            await late.session.wait_for_state(CallState.CONNECTED, 30)
            assert late.session.through_janus and room.host.links == {}
            await until(lambda: granted.id in _ids(late.doc), 20)
            assert late.sync.snapshots_received >= 1
            assert late.doc.get(granted.id).text.startswith("Patient ")  # type: ignore[union-attr]
            await until(lambda: late.session.control.recording, 20)
            await until(lambda: late.session.frames_received > 5, 20)
            await until(lambda: [v.connected for v in room.model.viewers] == [True] * 3, 20)

    asyncio.run(asyncio.wait_for(scenario(), 110))


def test_unreachable_janus_falls_back_to_peer_to_peer(server: EmbeddedServer) -> None:
    assert server.base_url is not None
    base = server.base_url
    closed_port = f"http://127.0.0.1:{free_port()}/janus"  # nothing listens there

    async def scenario() -> None:
        async with live_class(base, viewers=2, janus_url=closed_port) as room:
            host = room.host
            assert host.janus_status == "failed" and host.janus_error
            assert host.publisher is None and set(host.links) == {v.member_id for v in room.model.viewers}
            assert not any(v.session.through_janus for v in room.viewers)
            await until(lambda: all(v.session.frames_received >= 10 for v in room.viewers), 30)
            marker = room.instructor_doc.add("marker", "video", [[0.3, 0.7]], text="Wang Min")
            await until(lambda: all(marker.id in _ids(v.doc) for v in room.viewers), 20)
            # a trainee who joins later goes peer to peer at once
            late = await room.join_viewer(2)
            await late.session.wait_for_state(CallState.CONNECTED, 30)
            assert not late.session.through_janus and len(host.links) == 3

    asyncio.run(asyncio.wait_for(scenario(), 110))


# --- a class of ten: the instructor's process alone, the bedside and the trainees in another process ----
# (three trainees peer to peer are measured in test_classroom.py; the figures side by side are in
# benchmarks/janus_class.py)


def frames_out(host: ClassHost) -> dict[int, int]:
    """Video frames each outgoing class stream (the Janus publication, or each peer-to-peer link) has
    forwarded so far, by stream."""
    tracks = [link.video for link in host.links.values()]
    if host._janus_video is not None:
        tracks.append(host._janus_video)
    return {id(track): track.frames_forwarded for track in tracks}


@pytest.mark.parametrize(("mode", "trainees"), [("janus", 10)])
def test_instructor_cpu_and_bandwidth_janus_vs_peer_to_peer(
    server: EmbeddedServer, janus: Janus, mode: str, trainees: int
) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> dict[str, float]:
        janus_url = janus.base_url if mode == "janus" else None
        async with instructor_in_call(base, trainees, 35.0, janus_url) as run:
            run.go.set()
            await until(lambda: [v.connected for v in run.model.viewers] == [True] * trainees, 40)
            # past the first keyframes: every outgoing stream has carried two more seconds of video (at
            # 15 fps) since the last trainee connected, however long that takes on a busy machine
            start = frames_out(run.host)
            await until(lambda: all(n >= start.get(k, 0) + 30 for k, n in frames_out(run.host).items()), 40)
            figures = await run.host.measure(6.0)
            figures["janus"] = float(run.host.publishing)
            return figures

    figures = asyncio.run(asyncio.wait_for(scenario(), 110))
    rounded = {k: round(v, 1) for k, v in figures.items()}
    print(f"\ninstructor's process, {trainees} trainees {mode}, 320x240 at 15 fps:", json.dumps(rounded))
    assert figures["viewers"] == trainees and figures["kbps_to_viewers"] > 0
    assert figures["video_streams_out"] == (1 if mode == "janus" else trainees)
    assert figures["janus"] == (1.0 if mode == "janus" else 0.0)


def test_viewer_session_ignores_a_malformed_announcement() -> None:
    """In one process through the in-memory room: a bad announcement or a class message from another
    viewer changes nothing; the trainee stays peer to peer."""
    from rtc.signalling import InMemoryRoom, InMemorySignalling

    async def scenario() -> None:
        room = InMemoryRoom()
        instructor = room.join("dr.chen")
        other = room.join("student.qian", viewer=True)
        viewer = ViewerSession(
            room.join("student.zhao", viewer=True), [], replace=REPLACE, control=TraineeControl()
        )
        await instructor.connect()
        await other.connect()
        await viewer.start()
        newcomer: InMemorySignalling | None = None
        try:
            target = viewer.signalling.member_id
            for bad in (
                {"class": "janus", "url": "ftp://x", "room": 1, "feed": 2},
                {"class": "janus", "url": "http://x", "room": True, "feed": 2},
                {"class": "janus", "url": "http://x", "room": "1", "feed": 2},
                {
                    "class": "down",
                    "channel": "control",
                    "kind": "grant",
                    "body": {"action": "grant", "args": {"tool": "annotate"}},
                },
            ):
                await instructor.send("message", bad, target)
            good = {"class": "janus", "url": "http://127.0.0.1:9/janus", "room": 1, "feed": 2}
            await other.send("message", good, target)  # a fellow trainee is no instructor
            # the marker: one more member joins; the viewer handles its signalling in order, so once
            # it knows the newcomer it has handled (and ignored) everything above
            newcomer = marker = room.join("student.sun", viewer=True)
            await marker.connect()
            await until(lambda: marker.member_id in viewer._members, 20)
            assert not viewer.through_janus and viewer.control.tool is None  # no instructor announced yet
            assert viewer.control.instructor == ""
        finally:
            await viewer.close()
            await viewer.close()  # twice is harmless
            if newcomer is not None:
                await newcomer.close()
            await other.close()
            await instructor.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_janus_class_survives_a_rejoin_and_falls_back_when_janus_drops_it(janus: Janus) -> None:
    """In one process through the in-memory room, with the real Janus: the instructor's signalling
    rejoins (the trainees subscribe again from the new member id); then the room is destroyed under the
    class (Janus restarted, or IT removed it): the host says so and the trainees go peer to peer."""
    from rtc.signalling import InMemoryRoom

    async def scenario() -> None:
        room = InMemoryRoom()
        model = ClassModel()
        host = ClassHost(
            ClassRules(model), [], replace=REPLACE, janus_url=janus.base_url, keyframe_interval=1.0
        )
        statuses: list[str] = []
        host.janus_status_changed.connect(statuses.append)
        instructor = CallSession(room.join("dr.chen"), **SMALL_CALL)  # type: ignore[arg-type]
        bedside = CallSession(room.join("dr.li"), **SMALL_CALL)  # type: ignore[arg-type]
        host.attach(instructor)
        viewers = [
            ViewerSession(room.join(name, viewer=True), [], replace=REPLACE, control=TraineeControl())
            for name in ("student.zhao", "student.qian")
        ]

        def frames_move(since: list[int]) -> bool:
            return all(v.frames_received > n + 5 for v, n in zip(viewers, since, strict=True))

        try:
            for session in (instructor, bedside, *viewers):
                await session.start()
            for session in (instructor, *viewers):
                await session.wait_for_state(CallState.CONNECTED, 30)
            assert all(v.through_janus for v in viewers) and host.links == {}
            await until(lambda: frames_move([0, 0]), 20)

            old_id, first_room = instructor.signalling.member_id, host.janus_source
            instructor.signalling.drop()  # type: ignore[attr-defined]
            await until(lambda: all(v.instructor_id not in (None, old_id) for v in viewers), 20)
            await until(lambda: all(v.state is CallState.CONNECTED and v.through_janus for v in viewers), 30)
            assert host.janus_source == first_room  # the same publication, announced again
            since = [v.frames_received for v in viewers]
            await until(lambda: frames_move(since), 20)
            await until(lambda: [v.connected for v in model.viewers] == [True, True], 20)

            assert first_room is not None
            admin = JanusClient(janus.base_url)
            await admin.destroy_room(first_room.room)
            await admin.close()
            await until(lambda: host.janus_status == "failed", 20)
            assert host.janus_error and "hung up" in host.janus_error
            assert statuses == ["starting", "publishing", "failed"]
            peer_to_peer = lambda: [(v.through_janus, v.state) for v in viewers]  # noqa: E731
            await until(lambda: peer_to_peer() == [(False, CallState.CONNECTED)] * 2, 40)
            assert len(host.links) == 2
            since = [v.frames_received for v in viewers]
            await until(lambda: frames_move(since), 20)
        finally:
            await host.aclose()
            await host.aclose()  # twice is harmless
            for session in (*viewers, instructor, bedside):
                await session.close()
        assert host.publisher is None and model.viewers == []

    asyncio.run(asyncio.wait_for(scenario(), 110))
