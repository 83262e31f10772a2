"""The example browser peer (docs/examples/browser-peer.html) calls the workstation through the backend.

Headless Chromium (tests/integration/rtc_env.py, as in test_rtc_chromium.py) opens the very file the
docs ship, served by a small HTTP server here that also forwards /api/v1 to the real backend (the page
signs in on its own origin, as behind a reverse proxy). The test drives the page and reads its
``window.peerState`` over the DevTools protocol; the other end is our CallSession (rtc/session.py).

Both negotiation roles run: the page joins second and offers (signing in with its form), and the page
waits in the room (token from the URL) while the workstation joins second and offers. Either way video
is decoded on both sides, one message on every channel arrives at the other side, both directions, and
every reliable message is acknowledged per docs/protocol.md.

The doc itself is checked too, so it cannot drift from the code: its channel table against
rtc/channels.py CHANNELS, and every JSON example marked ``<!-- validate: module.Model -->`` against
that pydantic model.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
import pytest
from pydantic import BaseModel

from backend.server import EmbeddedServer
from core.annotations.model import AnnotationDocument
from core.vitals import stream as vitals_stream
from core.vitals.signals import Numeric, Wave
from rtc.channels import CHANNELS, ChannelMessage, Envelope
from rtc.session import CallSession, CallState
from tests.helpers import until
from tests.integration.rtc_env import Chromium
from tests.integration.test_rtc_network import _session, backend_room

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"
PAGE = ROOT / "docs" / "examples" / "browser-peer.html"
RELIABLE = [name for name, spec in CHANNELS.items() if spec.ordered and spec.max_retransmits is None]


# --- the doc cannot rot ------------------------------------------------------------------------------


def _channel_table() -> dict[str, list[str]]:
    """The rows of the doc's channel table (the one headed "| Channel | Stream id |"), by channel name."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Channel | Stream id |"))
    rows: dict[str, list[str]] = {}
    for line in itertools.takewhile(lambda x: x.startswith("|"), lines[start + 2 :]):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_doc_channel_table_matches_the_code() -> None:
    rows = _channel_table()
    assert set(rows) == set(CHANNELS), "docs/protocol.md's channel table names other channels"
    for name, spec in CHANNELS.items():
        stream_id, ordered, retransmits, acked, binary = rows[name][:5]
        assert int(stream_id) == spec.stream_id, name
        assert ordered == ("yes" if spec.ordered else "no"), name
        expected = "unlimited" if spec.max_retransmits is None else str(spec.max_retransmits)
        assert retransmits.strip("`") == expected, name
        assert acked == ("yes" if name in RELIABLE else "no"), name
        assert binary == ("yes" if spec.binary else "no"), name


def test_doc_json_examples_validate_against_the_models() -> None:
    text = DOC.read_text(encoding="utf-8")
    examples = re.findall(r"<!-- validate: ([\w.]+) -->\s*```json\n(.*?)```", text, re.DOTALL)
    assert len(examples) >= 10, "the JSON examples lost their <!-- validate: ... --> markers"
    for dotted, raw in examples:
        module, _, name = dotted.rpartition(".")
        model = getattr(importlib.import_module(module), name)
        assert isinstance(model, type) and issubclass(model, BaseModel), dotted
        instance = model.model_validate(json.loads(raw))
        if isinstance(instance, Envelope):
            instance.typed_body()  # the body against its channel's model too


# --- serving the page, and driving it ----------------------------------------------------------------


class _PageServer:
    """Serves the example page, and forwards /api/v1 requests to the backend (a reverse proxy)."""

    def __init__(self, backend: str) -> None:
        outer = self
        self.backend = backend

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/api/"):
                    self._forward()
                    return
                body = PAGE.read_bytes()
                self._reply(200, "text/html; charset=utf-8", body)

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                keep = ("content-type", "authorization")
                headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
                response = httpx.request(
                    self.command, outer.backend + self.path, content=self.rfile.read(length),
                    headers=headers, timeout=30,
                )
                self._reply(response.status_code, response.headers.get("content-type", ""), response.content)

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, token: str | None = None, **params: object) -> str:
        # The token goes in the fragment: the browser never sends it to a server.
        fragment = f"#{urlencode({'token': token})}" if token else ""
        return f"http://127.0.0.1:{self.port}/browser-peer.html?{urlencode(params)}{fragment}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def page_server(server: EmbeddedServer) -> Iterator[_PageServer]:
    assert server.base_url is not None
    pages = _PageServer(server.base_url)
    yield pages
    pages.close()


class DevTools:
    """Runtime.evaluate in the browser's one page, over the DevTools protocol's WebSocket."""

    def __init__(self, browser: Chromium) -> None:
        self.browser = browser
        self.ws: Any = None
        self._ids = itertools.count(1)

    async def open(self, timeout: float = 20.0) -> DevTools:
        from websockets.asyncio.client import connect

        def listening() -> re.Match[str] | None:  # Chromium logs where its DevTools endpoint listens
            return re.search(r"DevTools listening on ws://([\w.:\[\]]+)/", self.browser.log_tail(100_000))

        await until(listening, timeout)
        address = listening()
        assert address is not None
        pages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while not pages:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no page target\n{self.browser.log_tail()}")
                targets = (await http.get(f"http://{address[1]}/json/list")).json()
                pages = [t for t in targets if t.get("type") == "page" and "browser-peer" in t.get("url", "")]
                await asyncio.sleep(0.05)
        self.ws = await connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        return self

    async def evaluate(self, expression: str) -> Any:
        call_id = next(self._ids)
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        await self.ws.send(json.dumps({"id": call_id, "method": "Runtime.evaluate", "params": params}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if reply.get("id") == call_id:
                break
        if "error" in reply or "exceptionDetails" in reply["result"]:
            raise AssertionError(f"{expression!r} failed in the page: {reply}")
        return reply["result"]["result"].get("value")

    async def state(self) -> dict[str, Any]:
        raw = await self.evaluate("JSON.stringify(window.peerState || null)")
        return json.loads(raw) if raw else {}

    async def until(
        self, predicate: Callable[[dict[str, Any]], object], timeout: float, what: str
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            state = await self.state()
            if state and predicate(state):
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"page: {what} not reached in {timeout} s\nstate: {state}\n"
                                     f"{self.browser.log_tail()}")
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def _all_open(state: dict[str, Any]) -> bool:
    channels = state.get("channels", {})
    return set(channels) == set(CHANNELS) and all(c["readyState"] == "open" for c in channels.values())


# --- the call -------------------------------------------------------------------------------------------


async def _exchange(a: CallSession, got: list[ChannelMessage], page: DevTools) -> None:
    """Video both ways; one message on every channel each way, each reliable one acknowledged."""
    # Chromium's fake camera reaches us, and the page decodes ours.
    await until(lambda: a.frames_received >= 10 and a.audio_frames_received > 0, 20)
    frame = a.latest_video_frame
    assert frame is not None and (frame.width, frame.height) == (320, 240)
    await page.until(lambda s: s["video"]["framesDecoded"] >= 10 and s["audio"]["packetsReceived"] > 0,
                     20, "our video decoded")

    # The page -> us: its example message on every channel, plus a binary vitals batch.
    seqs: dict[str, int] = await page.evaluate("window.peer.sendExamples()")
    assert set(seqs) == set(CHANNELS)

    def arrived() -> dict[str, list[ChannelMessage]]:
        by: dict[str, list[ChannelMessage]] = {}
        for m in got:
            if m.envelope is None or m.envelope.kind != "error":
                by.setdefault(m.channel, []).append(m)
        return by

    await until(lambda: set(arrived()) == set(CHANNELS) and len(arrived()["vitals"]) >= 2, 15)
    by = arrived()
    for name, messages in by.items():
        envelope = next(m.envelope for m in messages if m.envelope is not None)
        assert envelope.seq == seqs[name]
        envelope.typed_body()
    chat = by["chat"][0].envelope
    assert chat is not None and chat.body["text"] == "Hello from the browser peer"
    op = by["annotations"][0].envelope
    assert op is not None and AnnotationDocument("site-test", "dr.chen").apply_remote(op.body), "op refused"
    batch = vitals_stream.decode(next(m.data for m in by["vitals"] if m.data is not None))
    assert isinstance(batch, tuple) and batch[0] == 1 and isinstance(batch[1], list)
    assert batch[1][0][0] is Numeric.SPO2 and batch[1][0][1] == pytest.approx(97.0)
    # ...and we acknowledged every reliable one: nothing left unacknowledged in the page.
    def acked_by_us(s: dict[str, Any]) -> bool:
        return all(
            s["acked"].get(c, 0) >= seqs[c] and s["unacked"][c] == s["pending"][c] == 0 for c in RELIABLE
        )

    await page.until(acked_by_us, 10, "our acknowledgements")

    # Us -> the page: one message on every channel, plus a binary vitals batch.
    ruler = {"kind": "ruler", "points": [[0.1, 0.1], [0.4, 0.2]]}
    sent = {
        "annotations": a.send("annotations", "op", {"op": "add", "id": "ruler-1", "author": "dr.chen",
                                                    "site": "site-a", "lamport": 1, "data": ruler}),
        "vitals": a.send("vitals", "samples", {"signal": "hr", "t0": time.time(), "rate_hz": 1.0,
                                               "samples": [72.0]}),
        "chat": a.send("chat", "text", {"text": "Hello from the workstation", "author": "dr.chen"}),
        "control": a.send("control", "hello", {"action": "hello", "args": {"from": "workstation"}}),
    }
    a.send_bytes("vitals", vitals_stream.encode_wave(5, Wave.PLETH, 0, time.time(), np.zeros(4)))
    assert all(a.outboxes[c].unacknowledged == 1 for c in RELIABLE)  # sent at once, awaiting the page's ack

    def page_has_all(s: dict[str, Any]) -> bool:
        envelopes = {(m["channel"], m["seq"]) for m in s["received"] if "binary" not in m}
        frames = [m["binary"] for m in s["received"] if "binary" in m]
        return {(c, e.seq) for c, e in sent.items()} <= envelopes and any(
            b["valid"] and (b["kind"], b["seq"]) == (1, 5) for b in frames
        )

    state = await page.until(page_has_all, 15, "our messages")
    bodies = {m["channel"]: m["body"] for m in state["received"] if "binary" not in m}
    assert bodies == {c: e.body for c, e in sent.items()}
    # ...and the page acknowledged every reliable one.
    await until(lambda: all(a.outboxes[c].unacknowledged == a.outboxes[c].pending == 0 for c in RELIABLE), 10)

    assert not state["errors"], state["errors"]
    assert not [m for m in got if m.envelope is not None and m.envelope.kind == "error"]
    # The media keeps flowing both ways.
    seen, decoded = a.frames_received, state["video"]["framesDecoded"]
    await until(lambda: a.frames_received >= seen + 10, 15)
    await page.until(lambda s: s["video"]["framesDecoded"] >= decoded + 10, 15, "more of our video")


@pytest.mark.parametrize("page_offers", [True, False], ids=["page-offers", "workstation-offers"])
def test_example_page_calls_the_workstation(
    server: EmbeddedServer, page_server: _PageServer, page_offers: bool
) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with backend_room(base) as (specialist, doctor, cid):
            a = _session(specialist, cid, ice_servers=[])
            got: list[ChannelMessage] = []
            a.message_received.connect(got.append)
            if page_offers:  # REST through the page's origin, the room straight at the backend
                url = page_server.url(consult=cid, ws=base.replace("http", "ws", 1) + "/api/v1")
            else:
                url = page_server.url(consult=cid, api=base + "/api/v1", token=doctor.access_token or "")
            browser = Chromium(url)
            page = DevTools(browser)
            try:
                if page_offers:
                    await a.start()  # we are in the room first
                browser.start()
                await page.open()
                if page_offers:  # the page signs in with its form and joins second: it offers
                    await page.until(lambda s: s["phase"] == "idle", 15, "page loaded")
                    await page.evaluate(
                        "document.getElementById('username').value = 'dr.li';"
                        "document.getElementById('password').value = 'demo';"
                        "document.getElementById('join').requestSubmit()"
                    )
                else:  # the page joins with its token and waits; we join second and offer
                    await page.until(lambda s: s["phase"] == "waiting", 15, "page alone in the room")
                    await a.start()
                try:
                    await a.wait_for_state(CallState.CONNECTED, 30)
                except TimeoutError:
                    page_state = await page.state()
                    raise AssertionError(f"no call; page: {page_state}\n{browser.log_tail()}") from None
                # Chromium can open its channels a moment before its ICE agent leaves "checking"
                # (the controlled side waits for the nomination), so wait for both.
                state = await page.until(
                    lambda s: _all_open(s) and s["connection"] == "connected", 15, "all four channels open"
                )
                assert state["offerer"] is page_offers
                assert state["negotiations"] == 1
                if page_offers:
                    assert state["user"]["username"] == "dr.li"
                # The page opened the channels exactly as rtc/channels.py does.
                for name, spec in CHANNELS.items():
                    channel = state["channels"][name]
                    assert (channel["id"], channel["ordered"]) == (spec.stream_id, spec.ordered), name
                    assert channel["maxRetransmits"] == spec.max_retransmits, name
                await _exchange(a, got, page)
            finally:
                await page.close()
                await a.close()
                browser.stop()

    asyncio.run(asyncio.wait_for(scenario(), 90))
