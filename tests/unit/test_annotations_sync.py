"""Annotation documents synced over two in-process CallSessions (memory signalling, real aiortc)."""

from __future__ import annotations

import asyncio
from typing import Any

from core.annotations.model import MAX_POINTS, AnnotationDocument
from core.annotations.sync import AnnotationSync, snapshot_parts
from rtc.channels import MAX_TEXT_BYTES, ChannelMessage, encode, make_envelope
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from tests.helpers import SMALL_CALL, until


def test_ops_pointer_and_bad_input_over_a_call() -> None:
    async def scenario() -> None:
        sig_a, sig_b = memory_pair()
        a, b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        doc_a, doc_b = AnnotationDocument("site-a", "dr.chen"), AnnotationDocument("site-b", "dr.li")
        posted: list[dict[str, Any]] = []
        sync_a = AnnotationSync(doc_a, a, posted.append)
        sync_b = AnnotationSync(doc_b, b)
        pointers: list[tuple[str, str, tuple[float, ...]]] = []
        doc_b.pointer_moved.connect(pointers.append)
        rejected: list[str] = []
        doc_a.rejected.connect(rejected.append)
        errors: list[dict[str, Any]] = []

        def on_b(message: ChannelMessage) -> None:
            env = message.envelope
            if message.channel != "control" or env is None or env.kind != "error":
                return
            if env.body["args"].get("channel") == "annotations":
                errors.append(env.body["args"])

        b.message_received.connect(on_b)
        # Drawn before the call connects: queued, delivered once the channel opens.
        stroke = doc_a.add("stroke", "video", [(0.1, 0.1), (0.2, 0.25)], pressure=[0.3, 0.9])
        try:
            await a.start()
            await b.start()
            await a.wait_for_state(CallState.CONNECTED, 20)
            await until(lambda: doc_b.get(stroke.id) == stroke, 10)
            doc_a.update(stroke.id, points=[(0.1, 0.1), (0.2, 0.25), (0.3, 0.4)], pressure=[0.3, 0.9, 1.0])
            arrow = doc_b.add("arrow", "video", [(0.5, 0.5), (0.6, 0.7)])
            mark = doc_b.add("landmark", "patient", [(-12.5, 30.25, 101.0)], text="target", study_uid="1.2.3")
            await until(lambda: doc_a.get(arrow.id) is not None and doc_a.get(mark.id) is not None, 10)
            await until(lambda: len(doc_b.get(stroke.id).points) == 3, 10)  # type: ignore[union-attr]
            doc_a.pointer("video", (0.4, 0.6))
            await until(lambda: bool(pointers), 10)
            assert pointers == [("dr.chen", "video", (0.4, 0.6))]
            doc_b.clear("video")
            await until(lambda: doc_a.get(stroke.id) is None, 10)
            assert doc_a.annotations == doc_b.annotations and [x.id for x in doc_a.annotations] == [mark.id]
            # A hostile peer deletes dr.li's landmark in another name: rejected at a, the call goes on.
            b.send("annotations", "op", {"op": "delete", "id": mark.id, "author": "mallory", "site": "x",
                                         "lamport": 99, "space": "patient", "data": {}})
            b.send("annotations", "op", {"op": "add", "id": "evil", "author": "dr.li", "site": "site-b",
                                         "lamport": 100, "space": "video",
                                         "data": {"kind": "stroke", "points": [[9.0, 9.0]]}})
            # It may not act as dr.chen either, even on an id of its own making.
            b.send("annotations", "op", {"op": "add", "id": "forged", "author": "dr.chen", "site": "site-b",
                                         "lamport": 101, "space": "video",
                                         "data": {"kind": "marker", "points": [[0.5, 0.5]]}})
            await until(lambda: len(rejected) == 3, 10)
            assert doc_a.get("evil") is None and doc_a.get("forged") is None and sync_a.ops_rejected == 3
            # ... and the sender hears why, on `control` (DESIGN.md, Messages and bad input).
            await until(lambda: len(errors) == 3, 10)
            assert [e["id"] for e in errors] == [mark.id, "evil", "forged"]
            assert "may not change" in errors[0]["reason"] and "out of range" in errors[1]["reason"]
            assert "local user" in errors[2]["reason"]
            assert doc_b.undo()  # the clear
            await until(lambda: doc_a.get(stroke.id) is not None, 10)
            assert doc_a.annotations == doc_b.annotations
            assert a.state is CallState.CONNECTED
            # Every local op of a's went to `post`, the pointer did not.
            assert [op["op"] for op in posted] == ["add", "update"]
            assert sync_a.ops_received >= 5 and sync_b.snapshots_received >= 1
        finally:
            await a.close()
            await b.close()
        await until(lambda: sync_a._closed, 5)  # the call ended: the sync let go of the document
        sync_a.close()
        sync_b.close()
        doc_a.add("marker", "video", [(0.5, 0.5)])
        assert len(posted) == 2

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_late_joiner_gets_a_snapshot_in_parts() -> None:
    async def scenario() -> None:
        doc_a = AnnotationDocument("site-a", "dr.chen")
        # Drawn before any call: no op of these is queued anywhere; only a snapshot can carry them.
        ids = [doc_a.add("stroke", "video", [(i / 2000, 0.5) for i in range(1500)]).id for _ in range(6)]
        gone = doc_a.add("marker", "video", [(0.5, 0.5)])
        doc_a.delete(gone.id)
        doc_a.clear("patient")
        doc_a.add("trajectory", "patient", [(0.0, 0.0, 0.0), (10.0, 20.0, 30.0)])
        assert len(snapshot_parts(doc_a.snapshot())) > 2  # 6 long strokes do not fit one message
        sig_a, sig_b = memory_pair()
        a, b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        doc_b = AnnotationDocument("site-b", "dr.li")
        mine = doc_b.add("text", "video", [(0.2, 0.2)], text="here")
        AnnotationSync(doc_a, a)
        AnnotationSync(doc_b, b)
        try:
            await a.start()
            await b.start()
            await until(lambda: len(doc_b.annotations) == 8 and len(doc_a.annotations) == 8, 20)
            assert doc_a.annotations == doc_b.annotations
            assert all(doc_b.get(i) is not None for i in ids) and doc_b.get(gone.id) is None
            assert doc_a.get(mine.id) == mine  # both sides asked: the joiner's own work went the other way
            assert doc_b.clock >= doc_a.clock - 1
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_snapshot_parts_merge_to_the_whole() -> None:
    doc = AnnotationDocument("a", "dr.a")
    for k in range(30):
        doc.add("polyline", "video", [(j / 400, k / 30) for j in range(300)])
    parts = snapshot_parts(doc.snapshot(), limit=20_000)
    assert len(parts) > 5
    joined = AnnotationDocument("b", "dr.b")
    for part in reversed(parts):
        joined.load_snapshot(part)
    assert joined.annotations == doc.annotations
    empty = snapshot_parts(AnnotationDocument("c", "dr.c").snapshot())
    assert len(empty) == 1 and empty[0]["records"] == []


def test_the_largest_allowed_stroke_fits_one_channel_message() -> None:
    doc = AnnotationDocument("a-site-with-a-rather-long-name-" + "x" * 60, "dr." + "y" * 100)
    ops: list[dict[str, Any]] = []
    doc.op_emitted.connect(ops.append)
    worst = [(-0.4999 + (i % 2) * 0.0001, -0.4999) for i in range(MAX_POINTS)]
    stroke = doc.add("stroke", "video", worst, pressure=[0.123] * MAX_POINTS, text="t" * 1000)
    assert len(stroke.points) == MAX_POINTS
    for op in ops:
        assert len(encode(make_envelope("annotations", "op", op, seq=2**31))) < MAX_TEXT_BYTES
    for part in snapshot_parts(doc.snapshot()):
        body = {"op": "snapshot", "id": "snapshot", "author": doc.author, "site": doc.site,
                "lamport": doc.clock, "space": "all", "data": part}
        assert len(encode(make_envelope("annotations", "snapshot", body, seq=2**31))) < MAX_TEXT_BYTES
