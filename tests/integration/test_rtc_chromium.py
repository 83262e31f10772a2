"""Interoperability: headless Chromium joins the backend room as the remote peer.

The page (served by a small HTTP server in this test) speaks the same JSON room protocol as
rtc/signalling.py over the backend's WebSocket, sends its fake camera and microphone, trickles its
ICE candidates, opens the negotiated `chat` channel, and POSTs what it receives back to the test
server: our video frames (decoded by Chromium) and our chat message.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

from backend.server import EmbeddedServer
from rtc.channels import ChannelMessage
from rtc.session import CallState
from tests.helpers import until
from tests.integration.rtc_env import Chromium
from tests.integration.test_rtc_network import _session, backend_room

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>peer</title></head><body><video id="v" autoplay muted></video>
<script>
const params = new URLSearchParams(location.search);
const report = (body) => fetch("/report", {method: "POST", body: JSON.stringify(body)}).catch(() => {});
const ws = new WebSocket(params.get("ws"));
let peer = null, pc = null, chat = null;
const got = {chat: [], errors: []};
const send = (type, payload) => ws.send(JSON.stringify({v: 1, type, to: peer, payload}));

async function makePc() {
  pc = new RTCPeerConnection({iceServers: []});
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}, audio: true});
  stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  chat = pc.createDataChannel("chat", {negotiated: true, id: 12, ordered: true});
  chat.onmessage = (e) => got.chat.push(JSON.parse(e.data).body.text);
  chat.onopen = () => chat.send(JSON.stringify({v: 1, channel: "chat", kind: "text", seq: 1,
      sent_at: Date.now() / 1000, body: {text: "hello from chromium", author: "browser"}}));
  pc.ontrack = (e) => { if (e.track.kind === "video") document.getElementById("v").srcObject = e.streams[0]
      || new MediaStream([e.track]); };
  pc.onicecandidate = (e) => { if (e.candidate) send("candidate", {candidate: e.candidate.candidate,
      sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex}); };
}

ws.onmessage = async (event) => {
  const m = JSON.parse(event.data);
  try {
    if (m.type === "welcome") {
      const others = m.members.filter((x) => x.member_id !== m.member_id && !x.viewer);
      if (others.length) {  // we joined second: we offer
        peer = others[0].member_id;
        await makePc();
        await pc.setLocalDescription(await pc.createOffer());
        send("offer", {sdp: pc.localDescription.sdp, type: "offer"});
      }
    } else if (m.type === "answer") {
      await pc.setRemoteDescription({type: "answer", sdp: m.payload.sdp});
    } else if (m.type === "error" || m.type === "message") {
      got.errors.push(JSON.stringify(m));
    }
  } catch (err) { got.errors.push(String(err)); }
};

const canvas = document.createElement("canvas"), ctx = canvas.getContext("2d", {willReadFrequently: true});
function readCounter() {  // rtc/sources.py read_frame_counter, in JavaScript
  const video = document.getElementById("v"), w = video.videoWidth, h = video.videoHeight;
  if (!w) return null;
  canvas.width = w; canvas.height = h; ctx.drawImage(video, 0, 0);
  const size = Math.max(4, Math.floor(w / 24));
  const y0 = Math.floor(size / 4) + 1, y1 = Math.floor(size * 3 / 4) + 1;
  let value = 0;
  for (let bit = 0; bit < 24; bit++) {
    const x0 = bit * size + Math.floor(size / 4), x1 = bit * size + Math.floor(size * 3 / 4);
    const d = ctx.getImageData(x0, y0, x1 - x0, y1 - y0).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += (d[i] + d[i + 1] + d[i + 2]) / 3;
    value = value * 2 + (sum / (d.length / 4) > 127 ? 1 : 0);
  }
  return value;
}

setInterval(async () => {
  const out = {state: pc ? pc.connectionState : "none", chat: got.chat, errors: got.errors,
               counter: readCounter()};
  if (pc) {
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        out.framesDecoded = s.framesDecoded; out.width = s.frameWidth; out.height = s.frameHeight;
        out.codec = s.codecId;
      }
    });
  }
  report(out);
}, 500);
</script></body></html>
"""


class _PageServer:
    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.reports.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def latest(self) -> dict[str, Any]:
        return self.reports[-1] if self.reports else {}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def page_server() -> Iterator[_PageServer]:
    server = _PageServer()
    yield server
    server.close()


def test_chromium_peer_through_backend(server: EmbeddedServer, page_server: _PageServer) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        async with backend_room(base) as (specialist, doctor, cid):
            a = _session(specialist, cid, ice_servers=[])
            got: list[ChannelMessage] = []
            a.message_received.connect(got.append)
            url = f"http://127.0.0.1:{page_server.port}/?ws={quote(doctor.signal_url(cid), safe='')}"
            browser = Chromium(url)
            try:
                await a.start()
                browser.start()
                try:
                    await a.wait_for_state(CallState.CONNECTED, 40)
                except TimeoutError:
                    page = page_server.latest
                    raise AssertionError(f"no call; page: {page}\n{browser.log_tail()}") from None
                # Chromium's fake camera reaches us...
                await until(lambda: a.frames_received >= 10, 20)
                frame = a.latest_video_frame
                assert frame is not None and frame.width == 320 and frame.height == 240
                # ...the chat message from the page too, and ours reaches the page.
                await until(lambda: any(m.channel == "chat" for m in got), 15)
                assert got[0].envelope is not None and got[0].envelope.body["text"] == "hello from chromium"
                a.send("chat", "text", {"text": "hello from the workstation", "author": "dr.chen"})
                # Chromium decodes our video: its counter says which of our frames it shows.
                await until(lambda: (page_server.latest.get("framesDecoded") or 0) >= 20, 20)
                await until(lambda: "hello from the workstation" in page_server.latest.get("chat", []), 10)
                latest = page_server.latest
                assert (latest["width"], latest["height"]) == (320, 240)
                assert latest["state"] == "connected" and not latest["errors"]
                # The page reads our burned-in counter from the pixels it shows: it moves on, and
                # never runs ahead of what we sent.
                await until(lambda: (page_server.latest.get("counter") or 0) > 1, 10)
                first = page_server.latest["counter"]
                await until(lambda: (page_server.latest.get("counter") or 0) > first + 5, 10)
                assert page_server.latest["counter"] <= a.video_track.counter  # type: ignore[attr-defined]
                # And the browser's own camera keeps coming (Chromium's fake device has no counter).
                seen = a.frames_received
                await until(lambda: a.frames_received >= seen + 10, 20)
            finally:
                await a.close()
                browser.stop()

    asyncio.run(asyncio.wait_for(scenario(), 90))
