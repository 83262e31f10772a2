"""A client that sends the room nothing but bad messages cannot flood the server's log: a few lines about
them, then one line with how many more were suppressed."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading

import pytest
from websockets.asyncio.client import connect

from tests.integration.conftest import Api

BAD_MESSAGES = 200
BURST = 10  # RateLimitedLog's default
SUPPRESSED = re.compile(r"(\d+) similar lines suppressed")


class _SummaryWatch(logging.Handler):
    """Sets `seen` when the room logs its suppressed-count summary."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("signalling: bad messages:"):
            self.seen.set()


def test_bad_messages_are_logged_a_few_times_then_counted(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="backend.signalling")
    watch = _SummaryWatch()
    logging.getLogger("backend.signalling").addHandler(watch)
    cid = api.consult_in_state("in_session")
    url = api.base_url.replace("http", "ws", 1) + f"/api/v1/rooms/{cid}/signal"
    token = api.token("dr.chen")
    bad = ["not json", json.dumps({"v": 1, "type": "no-such-type", "payload": {}}), json.dumps([1, 2])]

    async def scenario() -> None:
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
            for i in range(BAD_MESSAGES):
                await ws.send(bad[i % len(bad)])
            for _ in range(BAD_MESSAGES):  # each one answered: the server has handled (and logged) all
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "error"

    try:
        asyncio.run(scenario())
        assert watch.seen.wait(10), "no suppressed-count line after the member left"
    finally:
        logging.getLogger("backend.signalling").removeHandler(watch)

    logged = [r.getMessage() for r in caplog.records if r.name == "backend.signalling"]
    lines = [text for text in logged if text.startswith("signalling: bad message from dr.chen")]
    summaries = [text for text in logged if text.startswith("signalling: bad messages:")]
    assert 1 <= len(lines) <= BURST, lines
    assert len(summaries) == 1, summaries
    counted = [int(m.group(1)) for text in lines + summaries for m in [SUPPRESSED.search(text)] if m]
    assert len(lines) + sum(counted) == BAD_MESSAGES, (lines, summaries)
