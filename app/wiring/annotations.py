"""Wiring of the shared annotation document (issue 7) onto the backend and onto every call.

One document per workstation, ``document_for(link)``: the video overlay and the imaging views both draw
it. Every local operation (not the ephemeral pointer) goes to the backend outbox of the open consult,
call or no call; each call session gets an :class:`core.annotations.sync.AnnotationSync` that carries
operations over its ``annotations`` channel and trades snapshots with a peer that joins late.
The document lives on the Qt thread; the sync hops to it through the bridge.
"""

from __future__ import annotations

import logging
import socket
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from core.annotations.model import AnnotationDocument
from core.config.roles import PERMISSIONS, Role

if TYPE_CHECKING:
    from app.main_window import PanelFactory
    from app.services import BackendLink
    from core.client.backend import UserInfo
    from core.config.roles import PanelId

log = logging.getLogger(__name__)

_DOCUMENTS: weakref.WeakKeyDictionary[Any, AnnotationDocument] = weakref.WeakKeyDictionary()


def new_site_id() -> str:
    """Unique per running workstation: the host for a human reader, random for uniqueness."""
    return f"{socket.gethostname()[:48]}-{uuid.uuid4().hex[:12]}"


def _may_annotate(role: str) -> bool:
    try:
        return PERMISSIONS[Role(role)].annotate
    except ValueError:  # a role this workstation does not know: the backend decides
        return True


def document_for(link: BackendLink) -> AnnotationDocument:
    """The link's document, made (and fed to the outbox) on first use."""
    doc = _DOCUMENTS.get(link)
    if doc is not None:
        return doc
    user = link.sign_in_state.user
    doc = AnnotationDocument(new_site_id(), user.display_name if user is not None else link.ws.user_name)
    _DOCUMENTS[link] = doc

    def signed_in(user: UserInfo | None) -> None:
        doc.set_author(user.display_name if user is not None else "")

    def to_outbox(op: dict[str, Any]) -> None:
        # A trainee's ops (drawn while the instructor lends a tool) are kept by the instructor's
        # workstation, which accepted them; the backend refuses a trainee's own posts.
        user = link.sign_in_state.user
        if user is not None and not _may_annotate(user.role):
            return
        if op.get("op") != "pointer":
            link.post_annotation(op)

    opened: list[int] = []

    def consult_opened(consult_id: int) -> None:
        """Another consult starts from a clean page; the consult's record so far is merged in."""
        if opened and opened[-1] == consult_id:
            return
        if opened:
            doc.reset()
        opened.append(consult_id)
        client = link.client
        if client is None:
            return

        def replay(records: list[dict[str, Any]]) -> None:
            if opened and opened[-1] == consult_id:
                for record in records:
                    doc.apply_remote(record.get("op"))

        link.bridge.call(
            client.items("annotations", consult_id),
            replay,
            lambda error: log.warning("annotations of consult %s not loaded: %s", consult_id, error),
        )

    def context_ended(reason: str) -> None:
        """No annotation outlives its consult on screen (the backend keeps the record): the page is
        cleared, and reopening the consult (after a lock, say) loads the record again."""
        doc.reset()
        opened.clear()

    link.sign_in_state.changed.connect(signed_in)
    link.sig_consult_opened.connect(consult_opened)
    link.ws.context.ended.connect(context_ended)
    doc.op_emitted.connect(to_outbox)
    return doc


def attach_to_call(link: BackendLink, session: Any) -> object:
    """Called on the rtc loop with each new call session, before it starts."""
    from core.annotations.sync import AnnotationSync

    loop = link.runtime.loop
    return AnnotationSync(
        document_for(link),
        session,
        to_doc=link.bridge.post,
        to_loop=lambda fn: loop.call_soon_threadsafe(fn),
        consult_id=link.ws.context.consult_id,
    )


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    """No panel of its own: the overlays live in the call and imaging panels."""
    document_for(link)
    link.call_session_hooks.append(lambda session: attach_to_call(link, session))
    return {}
