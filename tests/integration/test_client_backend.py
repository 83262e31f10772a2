"""The workstation's backend client, outbox and keyring against the real backend on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.server import EmbeddedServer
from core.client.backend import BackendClient, BackendError, BackendUnreachableError
from core.client.token_store import TokenStore
from core.worklist.outbox import Outbox, OutboxSender
from rtc.runtime import AsyncRuntime
from tests.helpers import CONSULT_REQUEST, free_port, port_taken
from tests.secret_service import running_secret_service

REQUEST = CONSULT_REQUEST


@pytest.fixture
def runtime() -> Iterator[AsyncRuntime]:
    rt = AsyncRuntime("test-loop").start()
    yield rt
    rt.stop()


async def accepted_consult(base_url: str) -> int:
    doctor, specialist = BackendClient(base_url), BackendClient(base_url)
    try:
        await doctor.login("dr.li", "demo")
        consult = await doctor.create_consult(REQUEST)
        await specialist.login("dr.chen", "demo")
        await specialist.transition(consult["id"], "accept")
        return int(consult["id"])
    finally:
        await doctor.aclose()
        await specialist.aclose()


def test_sign_in_worklist_and_accept(server: EmbeddedServer, runtime: AsyncRuntime) -> None:
    assert server.base_url is not None
    base = server.base_url

    async def scenario() -> None:
        doctor, specialist = BackendClient(base), BackendClient(base)
        user = await doctor.login("dr.li", "demo")
        assert user.role == "county_doctor"
        created = await doctor.create_consult(REQUEST)
        await specialist.login("dr.chen", "demo")
        mine = [c for c in await specialist.consults() if c["id"] == created["id"]]
        assert mine and mine[0]["state"] == "open" and mine[0]["overdue"] is False
        accepted = await specialist.transition(created["id"], "accept")
        assert accepted["state"] == "accepted"
        with pytest.raises(BackendError) as again:
            await specialist.transition(created["id"], "accept")
        assert again.value.status == 409
        with pytest.raises(BackendError) as wrong:
            await specialist.login("dr.chen", "wrong")
        assert wrong.value.status == 401 and not wrong.value.retryable
        await doctor.aclose()
        await specialist.aclose()

    runtime.run(scenario(), timeout=60)


def test_expired_access_token_is_refreshed_transparently(
    server: EmbeddedServer, runtime: AsyncRuntime
) -> None:
    assert server.base_url is not None
    seen: list[str | None] = []
    client = BackendClient(server.base_url, on_refresh_token=seen.append)

    async def scenario() -> None:
        await client.login("dr.chen", "demo")
        first_refresh = client.refresh_token
        client.access_token = "not-a-valid-token"  # what an expired token looks like to the server
        assert isinstance(await client.consults(), list)
        assert client.refresh_token != first_refresh, "refresh tokens rotate"
        await client.logout()
        await client.aclose()

    runtime.run(scenario(), timeout=60)
    assert len(seen) == 3 and seen[-1] is None, "login, rotation, logout each reach the keyring"


def test_unreachable_backend_is_reported_as_retryable(runtime: AsyncRuntime) -> None:
    client = BackendClient(f"http://127.0.0.1:{free_port()}", timeout=2)

    async def scenario() -> None:
        with pytest.raises(BackendUnreachableError) as caught:
            await client.login("dr.chen", "demo")
        assert caught.value.retryable
        await client.aclose()

    runtime.run(scenario(), timeout=30)


def restart_on(database_url: str, port: int, timeout: float = 10.0) -> EmbeddedServer:
    """The backend again on the same port (the point of the restart test); the port may take a moment
    to be free again, so a start that fails while something holds it is retried for ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        restarted = EmbeddedServer(database_url, port=port)
        try:
            restarted.start()
            return restarted
        except RuntimeError:
            if not port_taken(port) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_outbox_delivers_every_note_once_in_order_across_backend_and_app_restarts(
    server: EmbeddedServer, runtime: AsyncRuntime, tmp_path: Path
) -> None:
    """The fault test: the backend stops while 100 notes are written, and comes back."""
    assert server.base_url is not None
    base, port = server.base_url, server.port
    consult_id = runtime.run(accepted_consult(base), timeout=60)
    client = BackendClient(base, timeout=2)
    runtime.run(client.login("dr.chen", "demo"), timeout=30)
    links: list[bool] = []

    def start_sender(outbox: Outbox) -> OutboxSender:
        async def deliver(kind: str, cid: int, payload: dict[str, object]) -> object:
            return await client.post_item(kind, cid, payload)

        sender = OutboxSender(outbox, deliver, lambda ok, _d: links.append(ok), max_backoff=0.5)

        async def go() -> None:
            sender.start()

        runtime.run(go())
        return sender

    db_path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(db_path)
    sender = start_sender(outbox)
    texts = [f"note {i:03d}: 血压 {90 + i % 30}/60" for i in range(100)]
    for text in texts[:30]:
        outbox.enqueue("notes", consult_id, {"text": text})
        sender.wake()
    server.stop()  # the backend goes away mid-stream
    for text in texts[30:60]:
        outbox.enqueue("notes", consult_id, {"text": text})
        sender.wake()
    # The workstation restarts too: a new outbox object on the same file.
    runtime.run(sender.stop())
    outbox.close()
    outbox = Outbox(db_path)
    for text in texts[60:]:
        outbox.enqueue("notes", consult_id, {"text": text})
    assert outbox.pending_count() > 0
    seen = len(links)
    sender = start_sender(outbox)
    deadline = time.monotonic() + 30
    while False not in links[seen:] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert False in links[seen:], "the new sender reports the link down"
    assert outbox.pending_count() > 0, "nothing can be delivered while the backend is down"

    restarted = restart_on(server.settings.database_url, port)
    try:
        runtime.run(client.login("dr.chen", "demo"), timeout=30)
        sender.wake()
        deadline = time.monotonic() + 60
        while outbox.pending_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outbox.pending_count() == 0
        assert outbox.failed() == []
        notes = runtime.run(client.items("notes", consult_id), timeout=30)
        assert [n["text"] for n in notes] == texts, "all 100, exactly once, in order"
        assert len({n["op_id"] for n in notes}) == 100
        assert links[-1] is True
    finally:
        runtime.run(sender.stop())
        runtime.run(client.aclose())
        outbox.close()
        restarted.stop()


def test_resending_after_a_lost_reply_never_duplicates(server: EmbeddedServer, runtime: AsyncRuntime) -> None:
    assert server.base_url is not None
    consult_id = runtime.run(accepted_consult(server.base_url), timeout=60)
    client = BackendClient(server.base_url)

    async def scenario() -> list[dict[str, object]]:
        await client.login("dr.chen", "demo")
        body = {"op_id": "6f1c1f8e-7d0a-4d59-9d3e-1b5d2b8f0a11", "text": "once"}
        await client.post_item("chat", consult_id, body)
        await client.post_item("chat", consult_id, body)
        items = await client.items("chat", consult_id)
        await client.aclose()
        return items

    items = runtime.run(scenario(), timeout=60)
    assert [i["text"] for i in items] == ["once"]


def test_refused_item_is_set_aside_not_lost(
    server: EmbeddedServer, runtime: AsyncRuntime, tmp_path: Path
) -> None:
    assert server.base_url is not None
    client = BackendClient(server.base_url)
    runtime.run(client.login("dr.chen", "demo"), timeout=30)
    outbox = Outbox(tmp_path / "o.sqlite3")

    async def deliver(kind: str, cid: int, payload: dict[str, object]) -> object:
        return await client.post_item(kind, cid, payload)

    sender = OutboxSender(outbox, deliver)

    async def go() -> None:
        sender.start()

    runtime.run(go())
    outbox.enqueue("notes", 999_999, {"text": "for a consult that does not exist"})
    sender.wake()
    deadline = time.monotonic() + 30
    while outbox.pending_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    failed = outbox.failed()
    assert len(failed) == 1 and failed[0].payload["text"] == "for a consult that does not exist"
    assert failed[0].last_error and failed[0].last_error.startswith("404")
    runtime.run(sender.stop())
    runtime.run(client.aclose())
    outbox.close()


def test_refresh_token_goes_to_a_real_secret_service(
    server: EmbeddedServer, runtime: AsyncRuntime, tmp_path: Path
) -> None:
    assert server.base_url is not None
    base = server.base_url
    with running_secret_service(tmp_path / "session"):
        store = TokenStore(service="teleconsult-test")
        assert store.persistent, store.reason
        account = TokenStore.account(base, "dr.chen")
        client = BackendClient(base, on_refresh_token=lambda token: store.save(account, token))
        runtime.run(client.login("dr.chen", "demo"), timeout=30)
        kept = store.load(account)
        assert kept == client.refresh_token
        # A later session signs in with the kept token alone, and the rotated token replaces it.
        later = BackendClient(base, on_refresh_token=lambda token: store.save(account, token))
        user = runtime.run(later.resume(kept), timeout=30)
        assert user.username == "dr.chen"
        assert store.load(account) == later.refresh_token != kept
        runtime.run(later.logout(), timeout=30)
        assert store.load(account) is None
        runtime.run(client.aclose())
        runtime.run(later.aclose())
    # Nothing was written to a plain file anywhere under the test's home.
    token_files = [p for p in tmp_path.rglob("*") if p.is_file() and kept.encode() in p.read_bytes()]
    assert token_files == []


def test_without_a_keyring_tokens_stay_in_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    store = TokenStore(service="teleconsult-test")
    assert not store.persistent
    assert "no OS keyring" in store.reason
    store.save("u@h", "secret-token")
    assert store.load("u@h") == "secret-token"
    assert TokenStore(service="teleconsult-test").load("u@h") is None, "memory only: gone with the process"


def test_runtime_stops_cleanly_twice() -> None:
    rt = AsyncRuntime().start()
    assert rt.run(asyncio.sleep(0, result=7)) == 7
    rt.stop()
    rt.stop()
    assert not rt.running
