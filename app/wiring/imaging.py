"""Wiring of the imaging panel (study browser, 2D/MPR/3D views, measurements; issue 4) into the main window.

`panels(link)` returns the panel factories this capability contributes; `app.panels` gathers them.
The panel is built after the window's first paint (pydicom and the views are not start-up costs).
It is bound to the consult context (``ws.context``): it shows whose consult it is, opens only that
patient's studies (another patient's only through an audited link, recorded by the backend's
``POST /consults/{id}/study-links``) and clears itself when the patient changes or the consult ends.
In demo mode it opens a synthetic CT written once into the user's data folder, in the background, and
only while the demo's CT consult (Zhang Wei, CT-2026-0042) is in context: never before sign-in, never
in another patient's consult.

Roles that may not see identities (trainees) get a panel that loads only de-identified copies
(core/teaching/trainee_imaging.py, a cache of their own): the consult's study when the trainee opens it (from
this machine's prefetch cache, else from PACS), and the demo study; nothing else can be opened there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config.roles import PanelId

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.context import Workstation
    from app.main_window import MainWindow, PanelFactory
    from app.services import BackendLink
    from core.consult.context import OpenConsult
    from core.teaching.trainee_imaging import Pseudonyms, TraineeImagingCache
    from viewers.imaging_context import RecordLink
    from viewers.imaging_panel import QtImagingPanel
    from viewers.study_identity import StudyLink

log = logging.getLogger(__name__)

DEMO_CT_SHAPE = (120, 256, 256)  # slices, rows, columns
DEMO_CT_SPACING = (0.9, 0.9, 2.0)  # x, y, z in mm


DEMO_CT_VERSION = "chest-2"
# the demo worklist's CT consult (backend/demo.py; the backend is not imported by the desktop)
DEMO_STUDY_UID = "1.2.826.0.1.3680043.10.1234.1"
DEMO_PATIENT_ID = "CT-2026-0042"
DEMO_PATIENT_NAME = "Zhang^Wei"
DEMO_BIRTH_DATE = "19610314"


def demo_ct_folder(data_dir: Path) -> Path:
    """The demo CT series; written the first time (a marker file says it is complete)."""
    folder = data_dir / "demo" / "ct-synthetic"
    marker = folder / ".complete"
    if not marker.exists() or marker.read_text(encoding="utf-8").strip() != DEMO_CT_VERSION:
        import shutil

        from viewers.dicom.synthetic import write_ct_series

        shutil.rmtree(folder, ignore_errors=True)  # an older demo study: never two series in one folder
        write_ct_series(
            folder,
            DEMO_CT_SHAPE,
            spacing=DEMO_CT_SPACING,
            shuffle_names=False,
            anatomy="chest",
            patient_name=DEMO_PATIENT_NAME,
            patient_id=DEMO_PATIENT_ID,
            patient_birth_date=DEMO_BIRTH_DATE,
            patient_sex="M",
            study_uid=DEMO_STUDY_UID,
            study_description="CT chest with contrast",
        )
        marker.write_text(DEMO_CT_VERSION + "\n", encoding="utf-8")
    return folder


def annotation_document(link: BackendLink | None) -> Any:
    """The consult's shared annotation document (issue 7), or None where that wiring is absent."""
    if link is None:
        return None
    try:
        from app.wiring.annotations import document_for
    except ImportError:
        return None
    return document_for(link)


def is_demo_consult(consult: OpenConsult | None) -> bool:
    """The demo's CT consult: its study, or (a consult that names no study) its patient."""
    from core.consult.identity import same_patient

    if consult is None:
        return False
    if consult.study_uid:
        return consult.study_uid == DEMO_STUDY_UID
    return same_patient(consult.patient, DEMO_PATIENT_ID, DEMO_PATIENT_NAME, DEMO_BIRTH_DATE).same


def open_demo_ct(ws: Workstation, panel: QtImagingPanel) -> None:
    """Write (once) and open the demo CT, if the demo's CT consult is still in context by then."""
    from core.i18n import tr

    consult = ws.context.consult
    panel.status.setText(tr("QtImagingPanel", "Preparing the demo CT study…"))

    def ready(folder: object) -> None:
        if isinstance(folder, Path) and ws.context.consult == consult and not panel.closed:
            panel.load_paths([folder])

    panel.run_in_background(lambda: demo_ct_folder(ws.paths.data_dir), ready)


def _wire_demo(ws: Workstation, panel: QtImagingPanel) -> None:
    """Open the demo CT whenever its consult comes into context (and now, if it is there)."""

    def opened(consult: OpenConsult) -> None:
        if is_demo_consult(consult) and not panel.closed:
            open_demo_ct(ws, panel)

    ws.context.opened.connect(opened)
    panel.destroyed.connect(lambda *_: ws.context.opened.disconnect(opened))
    if is_demo_consult(ws.context.consult):
        open_demo_ct(ws, panel)


def link_recorder(ws: Workstation, link: BackendLink) -> RecordLink:
    """Records a study link with the backend (the audit chain), for the consult in context."""

    def record(study_link: StudyLink, done: Callable[[object], None]) -> None:
        client = link.client
        consult_id = ws.context.consult_id or link.conversation.consult_id
        if client is None or consult_id is None or link.sign_in_state.user is None:
            done(RuntimeError("not signed in to the backend"))
            return
        log.info("study link to consult %s: study %s", consult_id, study_link.study_uids)
        link.bridge.call(client.link_study(consult_id, study_link.body()), done, done)

    return record


def _imaging_panel(window: MainWindow, link: BackendLink | None = None) -> QWidget:
    from app.main_window import empty_state_texts
    from widgets.deferred_panel import QtDeferredPanel
    from widgets.empty_state import QtEmptyState

    ws = window.ws
    trainee = _LazyTraineeCache(ws) if not ws.permissions.see_identity else None

    def build() -> QWidget:
        from viewers.imaging_panel import QtImagingPanel

        prepare = None
        if trainee is not None:  # everything this panel opens is de-identified first
            cache = trainee.get()
            if link is not None:
                cache.pseudonyms = trainee_pseudonyms(link, cache.salt)
            prepare = cache.prepare
        panel = QtImagingPanel(
            show_identity=ws.permissions.see_identity,
            pacs_endpoints=ws.site.pacs,
            cache_dir=ws.paths.cache_dir / "pacs",
            prepare=prepare,
        )
        document = annotation_document(link)
        if document is not None:  # landmarks, trajectories, planes and labels shared with the other site
            panel.attach_annotations(document)
        # only the consult's patient's studies; a participant may link another's, audited by the backend
        panel.bind_context(ws.context, link_recorder(ws, link) if link is not None else None)
        if ws.demo and trainee is None:  # a trainee's demo study comes with the consult (below)
            _wire_demo(ws, panel)
        return panel

    holder = QtDeferredPanel(build, QtEmptyState(*empty_state_texts(PanelId.IMAGING)))
    if trainee is not None and link is not None:
        _wire_trainee_study(window, link, holder, trainee)
    return holder


# --- trainees: de-identified imaging only -------------------------------------------------------------
TRAINEE_CACHE = "trainee-imaging"


class _LazyTraineeCache:
    """The trainee's de-identifying cache, made when first needed (pydicom is not a start-up cost)."""

    def __init__(self, ws: Workstation) -> None:
        self.ws = ws
        self._cache: TraineeImagingCache | None = None

    @property
    def built(self) -> bool:
        return self._cache is not None

    def get(self) -> TraineeImagingCache:
        if self._cache is None:
            from core.teaching.trainee_imaging import TraineeImagingCache

            salt = self.ws.pseudonym_salt
            assert salt is not None, "only roles that may not see identities have a trainee cache"
            self._cache = TraineeImagingCache(self.ws.paths.cache_dir / TRAINEE_CACHE, salt)
        return self._cache


def trainee_pseudonyms(link: BackendLink, salt: bytes, extra: dict[str, Any] | None = None) -> Pseudonyms:
    """The pseudonyms the backend gave this trainee, by study (the worklist, plus ``extra``), and the
    open consult's patient (already pseudonymised by the backend for this role)."""
    from core.teaching.trainee_imaging import Pseudonyms

    by_study = {item.study_uid: item.patient for item in list(link.worklist.items) if item.study_uid}
    by_study.update(extra or {})
    return Pseudonyms(salt, by_study, link.ws.context.patient)


def _wire_trainee_study(window: MainWindow, link: BackendLink, holder: Any, lazy: _LazyTraineeCache) -> None:
    """When the trainee opens a consult with a study, show its de-identified copy in Imaging."""
    import threading

    from core.worklist.model import ConsultItem
    from core.worklist.prefetch import pick_endpoint
    from core.worklist.study_cache import StudyCache

    ws = window.ws
    studies: dict[str, Any] = {}  # study UID -> the (pseudonymised) patient of the consult naming it
    cancel = threading.Event()
    window.sig_closed.connect(cancel.set)

    def refresh_pseudonyms() -> None:
        cache = lazy.get()
        cache.pseudonyms = trainee_pseudonyms(link, cache.salt, studies)

    def panel() -> Any:
        holder.build()  # the deferred panel, built now if the window has not painted yet
        return getattr(holder, "content", holder)

    def show(uid: str, source: str) -> None:
        imaging = panel()
        if not hasattr(imaging, "load_paths"):
            return
        refresh_pseudonyms()
        if ws.demo and uid == DEMO_STUDY_UID:  # the demo's study is this machine's synthetic CT
            open_demo_ct(ws, imaging)
            return
        prefetched = StudyCache(ws.paths.cache_dir / "studies").path_for(uid, touch=False)
        if prefetched is not None:  # this machine has it: the panel copies it before reading it
            imaging.load_paths([prefetched])
            return
        endpoint = pick_endpoint(ws.site.pacs, source)
        from core.i18n import tr

        if endpoint is None:
            imaging.status.setText(tr("QtImagingPanel", "The consult's study is not available here."))
            return
        imaging.status.setText(tr("QtImagingPanel", "Retrieving the consult's study…"))

        def done(result: object) -> None:
            if isinstance(result, BaseException):
                imaging.progress_box.setVisible(imaging.busy)
                imaging.status.setText(
                    tr("QtImagingPanel", "The study could not be retrieved: %1").replace("%1", str(result))
                )
            elif isinstance(result, Path) and not cancel.is_set():
                imaging.load_paths([result])

        cache = lazy.get()
        imaging.run_in_background(
            lambda: cache.fetch_study(uid, endpoint, imaging.report_progress, cancel), done
        )

    def on_consult(data: dict[str, Any]) -> None:
        item = ConsultItem.from_json(data, 0.0)
        if item.study_uid and link.conversation.consult_id == item.id:
            studies[item.study_uid] = item.patient
            show(item.study_uid, item.study_source)

    def on_opened(consult_id: int) -> None:
        item = link.worklist.get(consult_id)
        if item is not None and item.study_uid:
            studies[item.study_uid] = item.patient
            show(item.study_uid, item.study_source)
        elif link.client is not None:  # not in the worklist (yet): ask the backend for it
            link.bridge.call(link.client.consult(consult_id), on_consult)

    def on_worklist() -> None:
        if lazy.built:  # nothing to tell a cache that does not exist yet
            refresh_pseudonyms()

    link.sig_consult_opened.connect(on_opened)
    link.worklist.changed.connect(on_worklist)


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    return {PanelId.IMAGING: lambda window: _imaging_panel(window, link)}
