"""The shared annotation document in the composed workstation on the real backend: every local operation
reaches the consult's record (through the outbox) and its audit chain, a fresh document replaying that
record in order shows the same annotations, and the call hook syncs the document with a peer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from app.wiring.annotations import document_for
from app.workstation import Composed
from backend.server import EmbeddedServer
from core.annotations.model import AnnotationDocument
from core.annotations.sync import AnnotationSync
from core.client.backend import BackendClient
from core.config.roles import Role
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from tests.helpers import SMALL_CALL, compose_workstation

from .test_workstation_session import open_request, sign_in


@pytest.fixture
def composed(server: EmbeddedServer, qtbot: Any) -> Iterator[Composed]:
    made: Composed = compose_workstation(qtbot, Role.SPECIALIST, {"backend": {"url": server.base_url}})  # type: ignore[assignment]
    made.window.show()
    yield made
    made.window.close()
    made.shutdown()


def backend_rows(base_url: str, consult_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async def go() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        doctor = BackendClient(base_url)
        await doctor.login("dr.li", "demo")
        items = await doctor.items("annotations", consult_id)
        await doctor.aclose()
        admin = BackendClient(base_url)
        await admin.login("it.admin", "demo")
        audit: list[dict[str, Any]] = await admin.request("GET", "/audit?limit=1000")
        await admin.aclose()
        return items, [r for r in audit if r["action"] == "annotation.add"]

    return asyncio.run(go())


def test_operations_reach_the_record_and_replay_to_the_same_document(
    composed: Composed, server: EmbeddedServer, qtbot: Any
) -> None:
    assert server.base_url is not None
    consult_id = open_request(server.base_url)
    link = composed.link
    sign_in(composed, qtbot)
    qtbot.waitUntil(lambda: link.sign_in_state.user is not None, timeout=10000)
    doc = document_for(link)
    assert doc is document_for(link) and doc.author == link.sign_in_state.user.display_name  # type: ignore[union-attr]
    assert doc.author
    link.transition(consult_id, "accept")
    qtbot.waitUntil(lambda: link.conversation.consult_id == consult_id, timeout=10000)

    arrow = doc.add("arrow", "video", [(0.2, 0.2), (0.5, 0.6)])
    doc.update(arrow.id, colour="#00ff00")
    doc.add("landmark", "patient", [(10.0, -20.0, 30.5)], text="entry")
    doc.pointer("video", (0.5, 0.5))  # ephemeral: never recorded
    doc.delete(arrow.id)
    doc.undo()
    qtbot.waitUntil(lambda: len(backend_rows(server.base_url or "", consult_id)[0]) == 5, timeout=20000)
    items, audit = backend_rows(server.base_url, consult_id)
    assert [i["op"]["op"] for i in items] == ["add", "update", "add", "delete", "add"]
    assert [i["lamport"] for i in items] == sorted(i["lamport"] for i in items)
    assert len(audit) >= 5 and all(r["actor"] == "dr.chen" for r in audit)
    review = AnnotationDocument("review", "dr.review")
    for item in items:
        assert review.apply_remote(item["op"])
    assert review.annotations == doc.annotations and len(doc.annotations) == 2


def test_the_call_hook_syncs_the_shared_document_with_the_peer(composed: Composed, qtbot: Any) -> None:
    link = composed.link
    assert len(link.call_session_hooks) >= 1
    doc = document_for(link)
    mine = doc.add("marker", "video", [(0.3, 0.3)])  # before the call: reaches the peer by snapshot
    peer = AnnotationDocument("peer", "dr.li")
    runtime = link.runtime

    async def start() -> tuple[CallSession, CallSession, AnnotationSync]:
        sig_a, sig_b = memory_pair()
        call_a, call_b = CallSession(sig_a, **SMALL_CALL), CallSession(sig_b, **SMALL_CALL)  # type: ignore[arg-type]
        for hook in link.call_session_hooks:
            hook(call_a)
        peer_sync = AnnotationSync(peer, call_b)  # the peer's document lives on the rtc loop here
        await call_a.start()
        await call_b.start()
        return call_a, call_b, peer_sync

    call_a, call_b, peer_sync = runtime.run(start(), 30)
    try:
        runtime.run(call_a.wait_for_state(CallState.CONNECTED, 20), 25)
        qtbot.waitUntil(lambda: runtime.run(_get(peer, mine.id), 5) is not None, timeout=20000)
        theirs = runtime.run(_add(peer), 5)
        qtbot.waitUntil(lambda: doc.get(theirs) is not None, timeout=20000)  # arrived on the Qt thread
        stroke = doc.add("stroke", "video", [(0.1, 0.1), (0.2, 0.2)])
        qtbot.waitUntil(lambda: runtime.run(_get(peer, stroke.id), 5) is not None, timeout=20000)
    finally:
        runtime.run(call_a.close(), 15)
        runtime.run(call_b.close(), 15)
        peer_sync.close()


async def _get(doc: AnnotationDocument, annotation_id: str) -> Any:
    return doc.get(annotation_id)


async def _add(doc: AnnotationDocument) -> str:
    return doc.add("arrow", "video", [(0.6, 0.6), (0.7, 0.8)]).id
