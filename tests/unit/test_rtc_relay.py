"""rtc/relay.py against a real UDP echo server on loopback: forwarding, loss, delay, cut and restore."""

from __future__ import annotations

import asyncio
import time

from rtc.relay import UdpRelay
from tests.helpers import until


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[tuple[bytes, float]] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((data, time.monotonic()))


def test_relay_forwards_drops_delays_and_cuts() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        echo_transport, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
        echo_port = echo_transport.get_extra_info("sockname")[1]
        relay = await UdpRelay(("127.0.0.1", echo_port), seed=3).start()
        client = _Client()
        transport, _ = await loop.create_datagram_endpoint(lambda: client, remote_addr=relay.address)
        try:
            # Clean path: everything comes back, through the relay's port.
            for i in range(20):
                transport.sendto(f"clean {i}".encode())
            await until(lambda: len(client.received) == 20, 30)
            assert {d for d, _ in client.received} == {f"clean {i}".encode() for i in range(20)}

            # 30% loss on each pass: about half of the round trips survive (0.7 * 0.7).
            client.received.clear()
            dropped = relay.counters.dropped
            relay.set_conditions(loss=0.3)
            for i in range(400):
                transport.sendto(b"lossy %d" % i)
                if i % 10 == 9:  # small bursts: a socket buffer overflow is not the loss we test
                    await asyncio.sleep(0.005)
            # every datagram ends up either dropped (once, on one of the passes) or back here
            await until(lambda: relay.counters.dropped - dropped + len(client.received) == 400, 30)
            assert 140 < len(client.received) < 250
            assert relay.counters.dropped > dropped

            # Cut: nothing passes, either way; restore: traffic flows again.
            relay.set_conditions(loss=0.0)
            relay.cut()
            client.received.clear()
            dropped = relay.counters.dropped
            for _ in range(10):
                transport.sendto(b"cut")
            await until(lambda: relay.counters.dropped == dropped + 10, 30)
            relay.restore()
            transport.sendto(b"back")  # sent after the cut ones: once it is back, none of those can be
            await until(lambda: bool(client.received), 30)
            assert [d for d, _ in client.received] == [b"back"]

            # Added delay applies on both passes.
            client.received.clear()
            relay.set_conditions(delay_s=0.1)
            sent = time.monotonic()
            transport.sendto(b"slow")
            await until(lambda: bool(client.received), 30)
            assert client.received[0][1] - sent >= 0.2
        finally:
            transport.close()
            await relay.close()
            await relay.close()  # twice is harmless
            echo_transport.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
