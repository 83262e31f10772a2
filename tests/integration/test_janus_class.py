"""A teaching class through a real SFU: Janus (the Debian `janus` package) on this host, its video room,
one publisher (the instructor's workstation, 320x240 at 15 fps with the class data channel) and ten
subscribers (the trainees' viewers), all on one asyncio loop in this process. Janus's API listens on
127.0.0.1; its one ICE candidate is this host's own IPv4 address (Janus never gathers on a loopback
interface, see janus_env.py), so no packet leaves the machine.

What the SFU is for: the instructor sends ONE stream whatever the class size, so the test also checks
that the publisher has exactly one outbound video stream and that Janus lists exactly one publisher.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiortc import RTCStatsReport
from aiortc.stats import RTCOutboundRtpStreamStats

from rtc.janus import JanusClient, JanusError, JanusPublisher, JanusViewer, class_message
from rtc.sources import SyntheticVideoTrack, read_frame_counter
from tests.integration.janus_env import Janus, host_ipv4

VIEWERS = 10
WINDOW_S = 6.0


@dataclass
class ClassRun:
    feed_id: int = 0
    sent: int = 0
    first_tick: int = 0  # the first message sent once every viewer's channel was open
    frames: list[list[int]] = field(default_factory=list)  # burned-in counters each viewer decoded
    messages: list[list[int]] = field(default_factory=list)  # data-channel counters each viewer got
    frames_received: list[int] = field(default_factory=list)
    outbound_video_streams: int = 0
    senders: int = 0
    participants: list[dict[str, Any]] = field(default_factory=list)
    cpu_cores: float = 0.0
    kbps: float = 0.0
    janus_candidates: list[str] = field(default_factory=list)  # addresses in Janus's answer


def _video_outbound(report: RTCStatsReport) -> list[RTCOutboundRtpStreamStats]:
    return [s for s in report.values() if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video"]


def _strictly_increasing(values: list[int]) -> bool:
    return all(b > a for a, b in itertools.pairwise(values))


async def _class_of_ten(base_url: str) -> ClassRun:
    instructor, trainees = JanusClient(base_url), JanusClient(base_url)
    publisher: JanusPublisher | None = None
    viewers: list[JanusViewer] = []
    try:
        room = await instructor.create_room()
        publisher = JanusPublisher(instructor, room, SyntheticVideoTrack(320, 240, 15.0))
        await publisher.start()
        assert publisher.feed_id is not None
        viewers = [JanusViewer(trainees, room, publisher.feed_id) for _ in range(VIEWERS)]
        messages: list[list[int]] = [[] for _ in viewers]
        for viewer, received in zip(viewers, messages, strict=True):
            viewer.message_received.connect(lambda text, r=received: r.append(json.loads(text)["counter"]))
        await asyncio.gather(*(viewer.start() for viewer in viewers))

        # Each viewer's data channel opens when it has subscribed: messages sent before that are not
        # for it. Send until every viewer has one, then measure.
        tick = 0
        deadline = time.monotonic() + 30
        while not all(messages):
            assert time.monotonic() < deadline, f"messages per viewer {[len(m) for m in messages]}"
            tick += 1
            assert publisher.send(class_message(tick))
            await asyncio.sleep(0.1)
        first_tick = tick + 1

        frames: list[list[int]] = [[] for _ in viewers]
        before = await publisher.stats()
        assert before is not None
        bytes_before = sum(int(s.bytesSent) for s in _video_outbound(before))
        cpu_before, wall_before = time.process_time(), time.monotonic()
        # At least WINDOW_S, and on until every viewer has decoded 15 frames (a loaded machine is slow).
        deadline = wall_before + 60
        while time.monotonic() - wall_before < WINDOW_S or any(len(seen) < 15 for seen in frames):
            if time.monotonic() > deadline:
                break  # the assertions below say which viewer fell short
            tick += 1
            assert publisher.send(class_message(tick))
            for viewer, seen in zip(viewers, frames, strict=True):
                frame = viewer.take_video_frame()
                if frame is not None:
                    seen.append(read_frame_counter(frame.to_ndarray(format="rgb24")))
            await asyncio.sleep(0.1)
        # The last message crosses Janus last (one ordered, reliable channel): wait for it everywhere.
        deadline = time.monotonic() + 30
        while not all(received and received[-1] == tick for received in messages):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        cpu_s, wall_s = time.process_time() - cpu_before, time.monotonic() - wall_before
        after = await publisher.stats()
        assert after is not None
        outbound = _video_outbound(after)
        kbps = (sum(int(s.bytesSent) for s in outbound) - bytes_before) * 8 / wall_s / 1000
        participants = await instructor.participants(room)
        return ClassRun(
            feed_id=publisher.feed_id,
            sent=tick,
            first_tick=first_tick,
            frames=frames,
            messages=messages,
            frames_received=[v.frames_received for v in viewers],
            outbound_video_streams=len(outbound),
            senders=len(publisher.pc.getSenders()) if publisher.pc else 0,
            participants=participants,
            cpu_cores=cpu_s / wall_s,
            kbps=kbps,
            janus_candidates=[
                line.split()[4]
                for line in (publisher.pc.remoteDescription.sdp if publisher.pc else "").splitlines()
                if line.startswith("a=candidate:")
            ],
        )
    finally:
        await asyncio.gather(*(viewer.close() for viewer in viewers))
        if publisher is not None:
            await publisher.close()
            await publisher.close()  # twice is harmless
        await trainees.close()
        await instructor.close()
        await instructor.close()


def test_ten_viewers_receive_the_class_through_janus(janus: Janus) -> None:
    run = asyncio.run(asyncio.wait_for(_class_of_ten(janus.base_url), 180))
    print(
        f"\nJanus class on loopback, {VIEWERS} viewers, 320x240@15: test process CPU "
        f"{run.cpu_cores:.2f} cores (publisher + all viewers + decoding), "
        f"publisher outbound video {run.kbps:.0f} kbit/s, frames per viewer {run.frames_received}"
    )
    assert len(run.frames) == len(run.messages) == VIEWERS
    for index, (counters, texts) in enumerate(zip(run.frames, run.messages, strict=True)):
        # Video: the burned-in counter of each newly decoded frame goes up.
        assert len(counters) >= 15, f"viewer {index} saw {len(counters)} frames"
        assert _strictly_increasing(counters), f"viewer {index}: {counters}"
        # Data: the instructor's counter arrives in order, all of it once the viewer's channel is open.
        missing = set(range(run.first_tick, run.sent + 1)) - set(texts)
        assert not missing, f"viewer {index} missed {sorted(missing)} of {run.first_tick}..{run.sent}"
        assert _strictly_increasing(texts), f"viewer {index}: {texts}"
    # One stream out of the instructor's workstation, whatever the class size.
    assert run.outbound_video_streams == 1
    assert run.senders == 1
    assert [p["id"] for p in run.participants if p.get("publisher")] == [run.feed_id]
    assert run.kbps > 0
    # Janus offered one address, this machine's own: the media never left the host.
    assert set(run.janus_candidates) == {host_ipv4()}


async def _missing_room(base_url: str) -> None:
    client = JanusClient(base_url)
    try:
        room = await client.create_room()
        with pytest.raises(JanusError) as missing:
            await JanusViewer(client, room + 1, 1).start()
        assert missing.value.code == 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
        assert "No such room" in missing.value.reason
        with pytest.raises(JanusError) as no_room:
            await JanusPublisher(client, room + 1, SyntheticVideoTrack(320, 240, 15.0)).start()
        assert no_room.value.code == 426
        with pytest.raises(JanusError) as exists:
            await client.create_room(room)
        assert exists.value.code == 427  # JANUS_VIDEOROOM_ERROR_ROOM_EXISTS
        with pytest.raises(JanusError) as no_feed:
            await JanusViewer(client, room, 12345).start()
        assert no_feed.value.code == 428  # JANUS_VIDEOROOM_ERROR_NO_SUCH_FEED
    finally:
        await client.close()


def test_janus_errors_raise_janus_error(janus: Janus) -> None:
    asyncio.run(asyncio.wait_for(_missing_room(janus.base_url), 30))


def test_client_closes_when_janus_is_gone(janus: Janus) -> None:
    async def scenario() -> None:
        client = JanusClient(janus.base_url)
        room = await client.create_room()
        assert room > 0
        janus.stop()  # the SFU goes away under an open session with its long poll running
        with pytest.raises(httpx.HTTPError):
            await client.create_room()
        await asyncio.wait_for(client.close(), 5)
        await client.close()  # twice is harmless
        assert client.closed

    asyncio.run(scenario())


def test_instructor_audio_reaches_a_viewer(janus: Janus) -> None:
    from aiortc.stats import RTCInboundRtpStreamStats

    from rtc.sources import SyntheticAudioTrack

    async def scenario() -> dict[str, int]:
        client = JanusClient(janus.base_url)
        try:
            room = await client.create_room()
            video, audio = SyntheticVideoTrack(320, 240, 15.0), SyntheticAudioTrack()
            publisher = JanusPublisher(client, room, video, audio)
            await publisher.start()
            assert publisher.feed_id is not None
            viewer = JanusViewer(client, room, publisher.feed_id)
            await viewer.start()
            assert viewer.pc is not None
            pc = viewer.pc

            async def received() -> dict[str, int]:
                report = await pc.getStats()
                return {
                    s.kind: int(s.packetsReceived)
                    for s in report.values()
                    if isinstance(s, RTCInboundRtpStreamStats)
                }

            # 20 ms Opus frames: about 50 packets a second once the path is up; wait for 40 of them
            deadline = time.monotonic() + 60
            counts = await received()
            while counts.get("audio", 0) <= 40 or counts.get("video", 0) <= 10:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
                counts = await received()
            await viewer.close()
            await publisher.close()
            return counts
        finally:
            await client.close()

    received = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert received.get("audio", 0) > 40
    assert received.get("video", 0) > 10
