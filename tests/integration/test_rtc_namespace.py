"""The network really drops: the county doctor's runtime lives in its own network namespace, joined to
ours by a veth pair, and the test takes the link down (signalling and media both go), then up again.

The call must say RECONNECTING, come back by itself (a fresh negotiation through the backend, as aiortc
has no ICE restart), and deliver the chat and annotation messages queued while it was down, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from backend.server import EmbeddedServer
from core.client.backend import BackendClient
from rtc.channels import ChannelMessage
from rtc.runtime import AsyncRuntime
from rtc.session import CallSession, CallState
from rtc.signalling import WebSocketSignalling
from tests.helpers import CONSULT_REQUEST, free_port, until
from tests.integration.rtc_env import VethNamespace
from tests.integration.test_rtc_network import SMALL

T = TypeVar("T")
RESILIENT = {"ice_servers": [], "liveness_timeout": 2.0, "negotiation_timeout": 6.0}


@pytest.fixture
def namespace() -> Iterator[VethNamespace]:
    if not VethNamespace.available():
        pytest.fail(
            "network namespaces are not available here: needs root or CAP_NET_ADMIN "
            "(run make test as root, as CI does) and iproute2 (scripts/system-deps.sh)",
            pytrace=False,
        )
    ns = VethNamespace()
    try:  # delete() undoes whatever create() got to, also when it stopped half-way
        problem = ""
        try:
            ns.create()
        except OSError as exc:  # e.g. `ip netns exec` cannot remount /sys (a chroot, a container)
            problem = str(exc)
        if problem:
            pytest.fail(f"could not set up the network namespace {ns.name}: {problem}", pytrace=False)
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def wide_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """The backend on every address, so that the namespace can reach it over the veth link."""
    server = EmbeddedServer(
        f"sqlite:///{tmp_path / 'backend.sqlite3'}", port=free_port(), host="0.0.0.0", seed_demo=True
    )
    server.start()
    yield server
    server.stop()


def test_call_survives_a_pulled_cable(wide_server: EmbeddedServer, namespace: VethNamespace) -> None:
    port = wide_server.port
    inside = AsyncRuntime("rtc-in-namespace").start()

    async def enter() -> None:
        namespace.enter_current_thread()  # on the runtime's own thread: its sockets live there

    inside.run(enter(), 10)

    async def scenario() -> None:
        async def there(coro: Coroutine[Any, Any, T]) -> T:
            return await asyncio.wrap_future(inside.submit(coro))

        specialist = BackendClient(f"http://127.0.0.1:{port}")
        await specialist.login("dr.chen", "demo")
        doctor = BackendClient(f"http://{namespace.root_ip}:{port}")  # used on the namespace thread only
        a: CallSession | None = None
        b: CallSession | None = None
        try:
            await there(doctor.login("dr.li", "demo"))
            consult = await there(doctor.create_consult(CONSULT_REQUEST))
            cid = int(consult["id"])
            await specialist.transition(cid, "accept")

            a = CallSession(
                WebSocketSignalling(lambda: specialist.signal_url(cid), backoff_initial=0.2),
                **{**SMALL, **RESILIENT},  # type: ignore[arg-type]
            )

            async def make_b() -> CallSession:
                signalling = WebSocketSignalling(lambda: doctor.signal_url(cid), backoff_initial=0.2)
                session = CallSession(signalling, **{**SMALL, **RESILIENT})  # type: ignore[arg-type]
                await session.start()
                return session

            states: list[CallState] = []
            a.state_changed.connect(states.append)
            got_a: list[ChannelMessage] = []
            a.message_received.connect(got_a.append)
            await a.start()
            b = await there(make_b())
            await a.wait_for_state(CallState.CONNECTED, 30)
            await there(b.wait_for_state(CallState.CONNECTED, 30))
            await until(lambda: a.frames_received > 5, 20)

            namespace.cut()
            cut_at = time.monotonic()

            async def send_in_flight(session: CallSession) -> None:  # swallowed by the dead link
                session.send("chat", "text", {"text": "in flight", "author": "dr.li"})

            await there(send_in_flight(b))
            await a.wait_for_state(CallState.RECONNECTING, 10)
            await there(b.wait_for_state(CallState.RECONNECTING, 10))
            print(f"loss of the link noticed after {time.monotonic() - cut_at:.1f} s")

            async def send_while_down(session: CallSession) -> int:
                for i in range(3):
                    session.send("chat", "text", {"text": f"down {i}", "author": "dr.li"})
                note = {"op": "add", "id": "ring-1", "author": "dr.li", "lamport": 3}
                session.send("annotations", "op", note)
                return session.outboxes["chat"].pending

            assert await there(send_while_down(b)) == 4  # the unacknowledged one waits in front
            await asyncio.sleep(2)
            namespace.restore()
            restored_at = time.monotonic()

            await a.wait_for_state(CallState.CONNECTED, 40)
            await there(b.wait_for_state(CallState.CONNECTED, 40))
            print(f"call back {time.monotonic() - restored_at:.1f} s after the link returned")
            assert states[-2:] == [CallState.RECONNECTING, CallState.CONNECTED]
            await until(lambda: len(got_a) >= 5, 15)
            chats = [m.envelope.body["text"] for m in got_a if m.channel == "chat" and m.envelope]
            assert chats == ["in flight", "down 0", "down 1", "down 2"]
            assert [m.envelope.body["id"] for m in got_a if m.channel == "annotations" and m.envelope] == [
                "ring-1"
            ]
            seen = a.frames_received
            await until(lambda: a.frames_received > seen + 10, 15)
        finally:
            if a is not None:
                await a.close()
            if b is not None:
                await there(b.close())
            await there(doctor.aclose())
            await specialist.aclose()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 100))
    finally:
        inside.stop()
