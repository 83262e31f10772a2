"""Store-and-forward at the requesting site: opening an answered consult shows the written answer and
its key images, fetched from the site archive the study was sent to (issue 10).

``wire_answers(link, window)`` is called by the composition (app.workstation.compose) next to
``wire_prefetch``; ``link`` and ``window`` are used by duck typing, and Qt is imported only inside.

Both follow the consult context: the answer dialog is emptied and hidden when the consult ends (closed,
switched, sign-out, lock), and the specialist's composer closes on sign-out or lock; a key image is
taken only from a study of the consult's patient.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def pick_endpoint(endpoints: list[Any], source: str) -> Any | None:
    """The site archive named ``source`` (where the study was sent), else the first one configured."""
    for endpoint in endpoints:
        if getattr(endpoint, "name", None) == source:
            return endpoint
    return endpoints[0] if endpoints else None


def make_fetch(endpoint: Any, folder: Path) -> Any:
    """A blocking ``refs -> {SOP Instance UID: RGB}`` for QtAnswerView.load, through the site's PACS."""

    def fetch(refs: list[dict[str, str]]) -> dict[str, Any]:
        from viewers.dicom.keyimage import load_key_images
        from viewers.dicom.pacs import PacsClient

        with PacsClient(endpoint) as client:
            return load_key_images(client, refs, folder)

    return fetch


def wire_answers(link: Any, window: Any) -> Any | None:
    """On the requesting workstation, show a dialog with the answer whenever an answered consult is
    opened. Returns the dialog holder (for tests), or None where this role does not request."""
    ws = window.ws
    if not ws.permissions.request_consult:
        return None
    from PySide6.QtWidgets import QDialog, QVBoxLayout

    from core.i18n import tr
    from widgets.answer_view import QtAnswerView

    class QtAnswerDialog(QDialog):
        def __init__(self) -> None:
            super().__init__(window)
            self.setObjectName("answerDialog")
            self.view = QtAnswerView(self)
            layout = QVBoxLayout(self)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(self.view)
            self.resize(820, 620)

        def retranslate(self) -> None:
            self.setWindowTitle(tr("Answer", "Written answer"))

    dialog = QtAnswerDialog()
    dialog.retranslate()
    window.sig_closed.connect(dialog.view.close_view)

    def ended(_reason: str) -> None:
        """The consult left the context: nothing of its answer stays on screen or in the view."""
        view = dialog.view
        dialog.hide()
        view.item = None
        view.images = {}
        view.thumbs.clear()
        view.preview.clear()
        view.retranslate()

    ws.context.ended.connect(ended)
    window.sig_closed.connect(lambda: ws.context.ended.disconnect(ended))

    def on_opened(consult_id: int) -> None:
        item = link.worklist.get(consult_id)
        if item is None or not item.answer_text or not _in_context(ws, consult_id):
            return
        dialog.view.show_consult(item)
        endpoint = pick_endpoint(list(ws.site.pacs), item.study_source)
        if item.key_images and endpoint is not None:
            dialog.view.load(make_fetch(endpoint, ws.paths.cache_dir / "key-images" / str(consult_id)))
        dialog.show()
        dialog.raise_()

    link.sig_consult_opened.connect(on_opened)
    return dialog


def _in_context(ws: Any, consult_id: int) -> bool:
    """Whether ``consult_id`` is the consult in context (or the context does not say which it is)."""
    context = ws.context
    return context.consult is not None and context.consult_id in (None, consult_id)


def _of_patient(item: Any, source: Any) -> bool:
    """Whether the DICOM header ``source`` is of the consult ``item``'s patient."""
    from core.consult.identity import same_patient

    match = same_patient(
        item.patient,
        str(source.get("PatientID", "") or ""),
        str(source.get("PatientName", "") or ""),
        str(source.get("PatientBirthDate", "") or ""),
        str(source.get("IssuerOfPatientID", "") or ""),
    )
    return match.same


def _imaging(window: Any) -> Any | None:
    from core.config.roles import PanelId

    dock = window.docks.get(PanelId.IMAGING)
    holder = dock.widget() if dock is not None else None
    return getattr(holder, "content", holder)


def wire_answer_composer(link: Any, window: Any) -> Any | None:
    """On the specialist's workstation: the worklist's "Answer in writing…" opens a composer; its key
    images are the Imaging panel's current slice view as shown (annotations burned in), saved as
    Secondary Captures in the consult's study on the site's DICOMweb archive, then the answer is posted.
    Returns a holder whose ``composer`` is the open dialog (for tests), or None for other roles."""
    from core.config.roles import PanelId

    ws = window.ws
    if not ws.permissions.accept_consult:
        return None
    dock = window.docks.get(PanelId.WORKLIST)
    panel = dock.widget() if dock is not None else None
    if panel is None or not hasattr(panel, "sig_answer"):
        return None
    from core.i18n import tr
    from widgets.answer_view import QtAnswerComposer, grab_view_rgb

    class Holder:
        composer: QtAnswerComposer | None = None

    holder = Holder()

    def ended(reason: str) -> None:
        from core.consult.context import LOCKED, SIGNED_OUT

        if reason in (SIGNED_OUT, LOCKED) and holder.composer is not None:
            holder.composer.reject()  # its key images are the patient's: not left on a locked screen
            holder.composer = None

    ws.context.ended.connect(ended)
    window.sig_closed.connect(lambda: ws.context.ended.disconnect(ended))

    def capture() -> Any:
        view = getattr(_imaging(window), "slice_view", None)
        if view is None or getattr(view, "volume", None) is None:
            return None
        return grab_view_rgb(view)

    def on_answer(consult_id: int) -> None:
        item = link.worklist.get(consult_id)
        if item is None or link.client is None:
            return
        composer = QtAnswerComposer(capture, window)
        holder.composer = composer

        def send(text: str, images: list[Any]) -> None:
            client = link.client
            if client is None:
                composer.fail(tr("Answer", "The backend is not ready yet."))
                return
            series = getattr(_imaging(window), "series", None)
            instances = list(getattr(series, "instances", None) or [])
            source = instances[0].dataset if instances else None
            if images and (source is None or str(source.get("StudyInstanceUID", "")) != item.study_uid):
                composer.fail(tr("Answer", "The image shown is not from this consult's study."))
                return
            if images and not _of_patient(item, source):
                composer.fail(tr("Answer", "The image shown is not of this consult's patient."))
                return
            endpoints = [e for e in ws.site.pacs if e.kind == "dicomweb"]
            endpoint = pick_endpoint(endpoints, item.study_source)
            if images and endpoint is None:
                composer.fail(tr("Answer", "No DICOMweb archive is configured for key images."))
                return
            author = (ws.settings_store and getattr(client.user, "display_name", "")) or ""

            def store() -> list[dict[str, str]]:
                from viewers.dicom.dicomweb import DicomWebClient
                from viewers.dicom.keyimage import secondary_capture, store_key_images, study_header
                from viewers.dicom.pacs import PacsSettings

                assert endpoint is not None and source is not None  # checked above when there are images
                settings = PacsSettings.from_endpoint(endpoint)
                header = study_header(source)
                series_uid: str | None = None
                made = []
                for number, rgb in enumerate(images, start=1):
                    ds = secondary_capture(
                        rgb, header, series_instance_uid=series_uid, instance_number=number, author=author
                    )
                    series_uid = str(ds.SeriesInstanceUID)
                    made.append(ds)
                with DicomWebClient(
                    settings.url or "", username=settings.username, password=settings.password
                ) as web:
                    return [r.as_json() for r in store_key_images(web, made)]

            async def go() -> dict[str, Any]:
                import asyncio

                refs = await asyncio.to_thread(store) if images else []
                result: dict[str, Any] = await client.answer(consult_id, text, refs)
                return result

            def done(_consult: dict[str, Any]) -> None:
                composer.finish()
                link.refresh_worklist()

            link.bridge.call(go(), done, lambda error: composer.fail(str(error)))

        composer.sig_send.connect(send)
        composer.show()

    panel.sig_answer.connect(on_answer)
    return holder
