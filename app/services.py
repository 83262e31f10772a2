"""The workstation's link to its backend, composed for the UI: sign-in, worklist, outbox, consult.

Network work runs on the asyncio runtime; every result and every model change reaches the models on
the Qt thread through the bridge, so widgets only ever see the UI thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.context import Workstation
from core.client.backend import BackendClient, BackendError, UserInfo
from core.client.connection import LinkState
from core.client.embedded_backend import EmbeddedBackend
from core.client.session import SignIn
from core.client.token_store import TokenStore
from core.consult.conversation import Conversation
from core.worklist.model import WorklistModel
from core.worklist.outbox import Outbox, OutboxSender
from rtc.runtime import AsyncRuntime
from widgets.qt_async import QtAsyncBridge

log = logging.getLogger(__name__)

DEMO_USERS = {
    "specialist": "dr.chen",
    "county_doctor": "dr.li",
    "trainee": "student.zhao",
    "it_admin": "it.admin",
}
DEMO_PASSWORD = "demo"
WORKLIST_POLL_MS = 3000


class BackendLink(QObject):
    sig_ready = Signal(str)  # backend base URL
    sig_failed = Signal(str)  # the backend could not be started or reached at all
    sig_signed_in = Signal(object)  # UserInfo
    sig_sign_in_failed = Signal(str)
    sig_signed_out = Signal()
    sig_action_failed = Signal(str)
    sig_consult_opened = Signal(int)

    def __init__(self, ws: Workstation, runtime: AsyncRuntime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.runtime = runtime
        self.bridge = QtAsyncBridge(runtime, self)
        self._tokens: TokenStore | None = None
        self.worklist = WorklistModel()
        self.conversation = Conversation()
        self.sign_in_state = SignIn()
        self.client: BackendClient | None = None
        self.outbox: Outbox | None = None
        self.outbox_sender: OutboxSender | None = None
        self.embedded: EmbeddedBackend | None = None
        self.base_url: str | None = None
        # Called on the rtc loop with each new call session, before it starts: capabilities that ride
        # on the call (vitals, annotations) attach their channel handlers here.
        self.call_session_hooks: list[Callable[[Any], object]] = []
        self._locked_consult: int | None = None  # the consult the lock took out of context
        self._poll = QTimer(self)
        self._poll.setInterval(WORKLIST_POLL_MS)
        self._poll.timeout.connect(self.refresh_worklist)
        self._closed = False

    @property
    def tokens(self) -> TokenStore:
        # Probing the keyring talks to D-Bus: done at first use, never on the start-up path.
        if self._tokens is None:
            self._tokens = TokenStore()
            if not self._tokens.persistent:
                log.warning("sign-in tokens are kept in memory only: %s", self._tokens.reason)
        return self._tokens

    # start-up --------------------------------------------------------------------------------
    def start(self) -> None:
        site = self.ws.site.backend
        self.ws.connection.update(state=LinkState.CONNECTING)
        if site.url == "embedded":
            folder = self.ws.paths.data_dir / ("demo-backend" if self.ws.demo else "backend")
            if self.ws.demo and folder.exists():
                shutil.rmtree(folder)  # every demo tells the story from its beginning
            self.embedded = EmbeddedBackend(
                folder, seed_demo=self.ws.demo, target_wait_minutes=self.ws.site.worklist.target_wait_minutes
            )
            self.embedded.launch()
            self.bridge.call(self.embedded.wait_ready(), self._backend_ready, self._backend_failed)
        else:
            self._backend_ready(str(site.url).rstrip("/"))

    def _backend_ready(self, base_url: str) -> None:
        self.base_url = base_url
        verify: bool | str = self.ws.site.backend.verify_tls
        if verify and self.ws.site.backend.ca_file is not None:
            verify = str(self.ws.site.backend.ca_file)
        self.client = BackendClient(base_url, verify=verify, on_refresh_token=self._keep_refresh_token)
        self.ws.connection.update(url=base_url)
        self.bridge.call(
            self.client.health(), lambda _h: self._link(True), lambda e: self._link(False, str(e))
        )
        self.sig_ready.emit(base_url)

    def _backend_failed(self, error: BaseException) -> None:
        log.error("backend unavailable: %s", error)
        self.ws.connection.update(state=LinkState.UNREACHABLE, detail=str(error))
        self.sig_failed.emit(str(error))

    def _link(self, reachable: bool, detail: str = "") -> None:
        self.ws.connection.update(
            state=LinkState.CONNECTED if reachable else LinkState.UNREACHABLE, detail=detail
        )

    def _keep_refresh_token(self, token: str | None) -> None:
        # Called on the runtime thread when the client receives or drops a refresh token.
        client = self.client
        username = self.ws.settings.last_username
        if client is not None and username:
            self.tokens.save(TokenStore.account(client.base_url, username), token)

    # sign-in ---------------------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> None:
        client = self._need_client()
        self.ws.settings.last_username = username
        self.bridge.call(
            client.login(username, password),
            lambda user: self._signed_in(user, password),
            lambda error: self.sig_sign_in_failed.emit(self._sign_in_message(error)),
        )

    def resume(self) -> bool:
        """Sign in silently with the refresh token kept in the keyring; False when there is none."""
        client = self._need_client()
        username = self.ws.settings.last_username
        token = self.tokens.load(TokenStore.account(client.base_url, username)) if username else None
        if not token:
            return False
        self.bridge.call(
            client.resume(token),
            lambda user: self._signed_in(user, None),
            lambda error: self.sig_sign_in_failed.emit(self._sign_in_message(error)),
        )
        return True

    @staticmethod
    def _sign_in_message(error: BaseException) -> str:
        if isinstance(error, BackendError):
            if error.status == 0:
                return "The backend cannot be reached: " + error.detail
            return error.detail
        return str(error)

    def _signed_in(self, user: UserInfo, password: str | None) -> None:
        assert self.client is not None
        self.ws.save_settings()
        self.ws.user_name = user.display_name
        self.ws.context.user = user.username
        self._open_outbox(user)
        self.sign_in_state.set(user)
        self._link(True)
        self.sig_signed_in.emit((user, password))
        self.refresh_worklist()
        self._poll.start()

    def _open_outbox(self, user: UserInfo) -> None:
        assert self.client is not None
        # One outbox per backend and user: what one user typed is only ever sent with their identity.
        key = hashlib.sha256(TokenStore.account(self.client.base_url, user.username).encode()).hexdigest()[
            :16
        ]
        self._close_outbox()
        self.outbox = Outbox(self.ws.paths.data_dir / "outbox" / f"{key}.sqlite3")
        self.outbox.changed.connect(
            lambda count: self.bridge.post(lambda: self.ws.connection.update(queued=count))
        )
        client = self.client

        async def deliver(kind: str, consult_id: int, payload: dict[str, Any]) -> object:
            result = await client.post_item(kind, consult_id, payload)
            op_id = str(payload["op_id"])
            self.bridge.post(lambda: self.conversation.mark(op_id, "sent"))
            return result

        def on_link(reachable: bool, detail: str) -> None:
            self.bridge.post(lambda: self._link(reachable, detail))

        self.outbox_sender = OutboxSender(self.outbox, deliver, on_link)
        sender = self.outbox_sender

        async def start_sender() -> None:
            sender.start()

        self.bridge.call(start_sender())
        self.ws.connection.update(queued=self.outbox.pending_count())

    def _close_outbox(self) -> None:
        if self.outbox_sender is not None:
            self.runtime.submit(self.outbox_sender.stop())
            self.outbox_sender = None
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None

    def sign_out(self) -> None:
        self._poll.stop()
        if self.client is not None:
            self.bridge.call(self.client.logout())
        self.ws.user_name = ""
        self._locked_consult = None
        self.ws.context.sign_out()
        self.conversation.close()
        self.worklist.replace([])
        self.sign_in_state.set(None)
        self.sig_signed_out.emit()

    # worklist --------------------------------------------------------------------------------
    def refresh_worklist(self) -> None:
        if self.client is None or self.sign_in_state.user is None:
            return
        if self.sign_in_state.user.role == "it_admin":
            return  # IT has no clinical worklist

        def fetched(consults: list[dict[str, Any]]) -> None:
            self.worklist.replace(consults, time.monotonic())
            self._link(True)

        def failed(error: BaseException) -> None:
            self.worklist.fail(self._sign_in_message(error))
            if isinstance(error, BackendError) and error.status == 0:
                self._link(False, error.detail)

        self.bridge.call(self.client.consults(), fetched, failed)

    def transition(self, consult_id: int, action: str, outcome: str | None = None) -> None:
        client = self._need_client()
        body = {"outcome": outcome} if outcome else None

        def done(consult: dict[str, Any]) -> None:
            self.refresh_worklist()
            if action in ("accept", "start"):
                self.open_consult(consult_id, consult)
            elif action == "close" and self.conversation.consult_id == consult_id:
                self.ws.context.close()
                self.conversation.close()

        def failed(error: BaseException) -> None:
            self.sig_action_failed.emit(self._sign_in_message(error))
            self.refresh_worklist()

        self.bridge.call(client.transition(consult_id, action, body), done, failed)

    def open_consult(self, consult_id: int, consult: dict[str, Any] | None = None) -> None:
        from core.worklist.model import ConsultItem

        client = self._need_client()

        def show(data: dict[str, Any]) -> None:
            item = ConsultItem.from_json(data, time.monotonic())
            participants = item.participants
            self.ws.context.open(item.patient, consult_id, participants, item.study_uid)
            if self.conversation.consult_id != consult_id:
                self.conversation.open(consult_id, f"{item.patient.name} - {item.question}")
            self.sig_consult_opened.emit(consult_id)
            self._load_conversation(consult_id)

        if consult is not None:
            show(consult)
        else:
            self.bridge.call(client.consult(consult_id), show, lambda e: self.sig_action_failed.emit(str(e)))

    # the lock ----------------------------------------------------------------------------------
    def lock_context(self) -> None:
        """The screen locked: every panel lets go of the patient; the consult is remembered."""
        consult = self.ws.context.lock()
        if consult is not None and consult.consult_id is not None:
            self._locked_consult = consult.consult_id
        self.conversation.close()
        self._poll.stop()
        self.worklist.replace([])  # the worklist names patients too

    def unlock_context(self) -> None:
        """The user is back: the consult that was open is fetched again and reopened."""
        consult_id, self._locked_consult = self._locked_consult, None
        if self.client is None or self.sign_in_state.user is None:
            return
        self.refresh_worklist()
        self._poll.start()
        if consult_id is not None:
            self.open_consult(consult_id)

    def _load_conversation(self, consult_id: int) -> None:
        client = self._need_client()

        async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            notes, chat = await asyncio.gather(
                client.items("notes", consult_id), client.items("chat", consult_id)
            )
            return notes, chat

        def merge(result: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
            if self.conversation.consult_id == consult_id:
                self.conversation.merge_server("notes", result[0])
                self.conversation.merge_server("chat", result[1])

        self.bridge.call(both(), merge, lambda e: log.warning("conversation not loaded: %s", e))

    def send(self, kind: str, text: str) -> str | None:
        """Queue a note or chat line for the open consult; returns its operation id."""
        consult_id = self.conversation.consult_id
        user = self.sign_in_state.user
        if consult_id is None or self.outbox is None or user is None:
            return None
        op_id = self.outbox.enqueue(kind, consult_id, {"text": text})
        self.conversation.add_local(op_id, kind, user.display_name, text)
        if self.outbox_sender is not None:
            self.outbox_sender.wake()
        return op_id

    def audit_event(self, action: str, details: dict[str, object]) -> None:
        """Send a clinical event to the audit chain when signed in; callable from any thread.

        The event is always in the local log already (the caller logs it); a failure here is logged too."""
        client, user = self.client, self.sign_in_state.user
        if self._closed or client is None or user is None or user.role not in ("specialist", "county_doctor"):
            return
        consult_id = self.conversation.consult_id
        plain = (str, int, float, bool, type(None))
        safe = {k: v if isinstance(v, plain) else str(v) for k, v in details.items()}

        async def send() -> None:
            try:
                await client.audit_event(action, safe, consult_id)
            except BackendError as exc:
                log.warning("audit of %s not recorded by the backend: %s", action, exc)

        self.runtime.submit(send())

    # helpers ---------------------------------------------------------------------------------
    def _need_client(self) -> BackendClient:
        if self.client is None:
            raise RuntimeError("the backend is not ready yet")
        return self.client

    def shutdown(self) -> None:
        """Stop polling, the sender and the embedded backend. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._poll.stop()
        sender, client = self.outbox_sender, self.client
        self.outbox_sender = None

        async def close_all() -> None:
            if sender is not None:
                await sender.stop()
            if client is not None:
                await client.aclose()

        if self.runtime.running:
            try:
                self.runtime.run(close_all(), timeout=5)
            except Exception as exc:  # shutting down: log and carry on closing the rest
                log.warning("closing the backend link: %s", exc)
        self.bridge.close()
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None
        if self.embedded is not None:
            self.embedded.stop()

    # annotations (issue 7): the shared document is app.wiring.annotations.document_for(link) -------
    def post_annotation(self, op: dict[str, Any]) -> str | None:
        """Queue one annotation operation for the open consult's record (and audit); any thread."""
        consult_id = self.conversation.consult_id
        if self._closed or consult_id is None or self.outbox is None or self.sign_in_state.user is None:
            return None
        payload = {"lamport": int(op.get("lamport", 0)), "op": op}
        op_id = self.outbox.enqueue("annotations", consult_id, payload)
        if self.outbox_sender is not None:
            self.outbox_sender.wake()
        return op_id
