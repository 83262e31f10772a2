"""A user-space UDP relay with loss, added delay and a cut switch: a "bad network" for tests and benchmarks.

It listens on one loopback port and forwards every datagram to one upstream address (typically a TURN
server, so that a peer whose only ICE server is ``turn:<relay port>`` sends all its media through it
under the relay-only policy). Each client address gets its own upstream socket, so replies find their
way back. Loss and delay apply in both directions; :meth:`UdpRelay.cut` drops everything until
:meth:`UdpRelay.restore`.

Why not ``tc netem``: the kernel here has no netem qdisc. Network namespaces with veth pairs work
(``ip link set ... down`` cuts a link) but need root; this relay needs nothing. Qt-free, asyncio only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

log = logging.getLogger(__name__)

Address = tuple[str, int]


@dataclass
class RelayCounters:
    forwarded: int = 0
    dropped: int = 0


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self._on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: list[bytes] = []  # from the client while the upstream socket opens

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable and the like: keep going
        log.debug("relay: %s", exc)


class UdpRelay:
    def __init__(
        self,
        upstream: Address,
        *,
        loss: float = 0.0,
        delay_s: float = 0.0,
        host: str = "127.0.0.1",
        seed: int | None = None,
    ) -> None:
        self.upstream = upstream
        self.host = host
        self.loss = loss
        self.delay_s = delay_s
        self.is_cut = False
        self.counters = RelayCounters()
        self._random = random.Random(seed)
        self._front: _Endpoint | None = None
        self._sessions: dict[Address, _Endpoint] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.port = 0

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    async def start(self) -> UdpRelay:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Endpoint(self._from_client), local_addr=(self.host, 0)
        )
        self._front = protocol
        self.port = int(transport.get_extra_info("sockname")[1])
        return self

    def set_conditions(self, *, loss: float | None = None, delay_s: float | None = None) -> None:
        if loss is not None:
            self.loss = loss
        if delay_s is not None:
            self.delay_s = delay_s

    def cut(self) -> None:
        """Drop every datagram, both ways, until :meth:`restore` (a pulled cable)."""
        self.is_cut = True

    def restore(self) -> None:
        self.is_cut = False

    # --- forwarding ----------------------------------------------------------------------------
    def _from_client(self, data: bytes, client: Address) -> None:
        session = self._sessions.get(client)
        if session is None:
            if self._closed:
                return
            session = _Endpoint(lambda payload, _addr: self._to_client(payload, client))
            self._sessions[client] = session
            session.waiting.append(data)
            task = asyncio.get_running_loop().create_task(self._open_upstream(session))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if session.transport is None:
            session.waiting.append(data)
            return
        self._pass(data, session.transport, self.upstream)

    async def _open_upstream(self, session: _Endpoint) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: session, local_addr=(self.host, 0))
        waiting, session.waiting = session.waiting, []
        for data in waiting:
            self._pass(data, session.transport, self.upstream)

    def _to_client(self, data: bytes, client: Address) -> None:
        front = self._front.transport if self._front is not None else None
        self._pass(data, front, client)

    def _pass(self, data: bytes, transport: asyncio.DatagramTransport | None, to: Address) -> None:
        if transport is None or self._closed:
            return
        if self.is_cut or (self.loss > 0 and self._random.random() < self.loss):
            self.counters.dropped += 1
            return
        self.counters.forwarded += 1
        if self.delay_s <= 0:
            transport.sendto(data, to)
            return
        handle: asyncio.TimerHandle | None = None

        def send() -> None:
            if handle is not None:
                self._timers.discard(handle)
            if not self._closed and not transport.is_closing():
                transport.sendto(data, to)

        handle = asyncio.get_running_loop().call_later(self.delay_s, send)
        self._timers.add(handle)

    async def close(self) -> None:
        """Stop forwarding and release the sockets. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        endpoints = [*self._sessions.values(), *([self._front] if self._front else [])]
        self._sessions.clear()
        for endpoint in endpoints:
            if endpoint.transport is not None:
                with contextlib.suppress(Exception):
                    endpoint.transport.close()
