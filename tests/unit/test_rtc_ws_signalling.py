"""WebSocketSignalling against a tiny local server: malformed input skipped, reconnection with backoff."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection, serve

from rtc.signalling import Relayed, WebSocketSignalling, Welcome


def test_reconnects_and_skips_malformed_messages() -> None:
    async def scenario() -> None:
        connections = 0

        async def handler(ws: ServerConnection) -> None:
            nonlocal connections
            connections += 1
            n = connections
            await ws.send(json.dumps({"v": 1, "type": "welcome", "member_id": f"m{n}", "members": []}))
            await ws.send("{broken")
            await ws.send(json.dumps({"v": 1, "type": "offer", "payload": {}}))  # no "from": invalid
            await ws.send(json.dumps({"v": 1, "type": "message", "from": "x", "payload": {"n": n}}))
            if n == 1:
                await ws.close()  # the link drops once
                return
            async for raw in ws:
                await ws.send(
                    json.dumps({"v": 1, "type": "message", "from": "echo", "payload": json.loads(raw)})
                )

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            sig = WebSocketSignalling(f"ws://127.0.0.1:{port}/", backoff_initial=0.05)
            welcome = await sig.connect()
            assert welcome.member_id == "m1"
            first = await sig.receive()
            assert isinstance(first, Relayed) and first.payload == {"n": 1}
            again = await sig.receive()
            assert isinstance(again, Welcome) and again.member_id == "m2" and sig.member_id == "m2"
            assert sig.reconnects == 1
            second = await sig.receive()
            assert isinstance(second, Relayed) and second.payload == {"n": 2}
            await sig.send("message", {"hi": 1})
            echo = await sig.receive()
            assert isinstance(echo, Relayed) and echo.payload["payload"] == {"hi": 1}
            await sig.close()
            await sig.close()

    asyncio.run(asyncio.wait_for(scenario(), 20))
