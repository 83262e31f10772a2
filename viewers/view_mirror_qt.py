"""The Qt side of the mirrored view: reads the imaging panel's view into a ViewState and applies one.

Thin: the decisions (who leads, what is refused, throttling) are in :class:`viewers.viewstate.ViewMirror`.
While this site leads, a timer samples the view at the mirror's rate and offers it; an unchanged view
costs a comparison and sends nothing. Sampling (rather than a signal per kind of change) also catches
what the views do not signal, like a 3D camera turned with the mouse or a pan, and never sends more
than the rate allows however fast the user scrolls.

The adapter adds a "Follow me" toggle to the panel's toolbar and a banner above the images
("Following dr.chen", "dr.li follows you", or why a view was refused). A state naming another series
of the open study loads that series first and is applied once it has loaded.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QVBoxLayout

from core.i18n import tr
from viewers.dicom.volume import LoadResult
from viewers.imaging_panel import QtImagingPanel
from viewers.imaging_panel import ViewMode as PanelMode
from viewers.reslice import Plane, WindowLevel
from viewers.slice_view import QtSliceView
from viewers.viewstate import Availability, Camera, Role, ViewMirror, ViewMode, ViewState

log = logging.getLogger(__name__)

_TO_PANEL = {ViewMode.SLICE: PanelMode.SLICE, ViewMode.MPR: PanelMode.MPR, ViewMode.VOLUME: PanelMode.VOLUME}
_FROM_PANEL = {v: k for k, v in _TO_PANEL.items()}
BANNER_STYLE = "QLabel#viewMirrorBanner { background: #1e3a5f; color: #e3f2fd; padding: 4px 8px; }"
NOTICE_STYLE = "QLabel#viewMirrorBanner { background: #5d4037; color: #fff3e0; padding: 4px 8px; }"


def _px_per_mm(view: QtSliceView) -> float:
    """Widget pixels per millimetre at the view's current zoom (what the paint transform uses)."""
    assert view.renderer is not None
    rows, cols = view.renderer.mapping.shape
    sx, sy = view.renderer.mapping.pixel_spacing
    fit = min(view.width() / (cols * sx), view.height() / (rows * sy))
    return max(fit * view.zoom, 1e-6)


def _vec3(values: Any) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in values)
    return x, y, z


def apply_view_state(panel: QtImagingPanel, state: ViewState) -> bool:
    """Show ``state`` in ``panel``: mode, window, slice, zoom, pan, MPR crosshair, 3D camera. False when
    its series is not the one loaded: the panel is asked to load it (if it is not loading it already),
    and the caller applies the state again once ``sig_loaded`` says it is there."""
    current = panel.series.series_instance_uid if panel.series is not None else None
    if current != state.series_uid or panel.load_result is None:
        if current != state.series_uid:
            panel.load_series(state.series_uid)
        return False
    mode = _TO_PANEL[state.mode]
    if panel.stack.currentIndex() != mode:
        panel.set_mode(mode)
    window = WindowLevel(state.window_center, state.window_width)
    view = panel.slice_view
    if view.current_window() != window:
        view.set_window(window)
        panel.mpr_view.set_window(window)
    if state.slice_lps is not None and view.renderer is not None:
        slice_coord, _pos = view.lps_to_image(np.asarray(state.slice_lps))
        view.set_slice(round(slice_coord))
    view.set_zoom(state.zoom)
    scale = _px_per_mm(view) if view.renderer is not None else 1.0
    view.pan = QPointF(state.pan_mm[0] * scale, state.pan_mm[1] * scale)
    view.update()
    mpr = panel.mpr_view
    if state.crosshair_lps is not None and mpr.views[Plane.AXIAL].volume is not None:
        point = np.asarray(state.crosshair_lps, dtype=np.float64)
        if mpr.crosshair is None or not np.allclose(mpr.crosshair, point):
            mpr.set_crosshair(point)
    volume_view = panel.volume_view
    if state.camera is not None and volume_view is not None:
        cam = volume_view.renderer.GetActiveCamera()
        cam.SetPosition(*state.camera.position)
        cam.SetFocalPoint(*state.camera.focal_point)
        cam.SetViewUp(*state.camera.view_up)
        volume_view.renderer.ResetCameraClippingRange()
        volume_view.render()
    return True


class QtViewMirror(QObject):
    """Connects one :class:`QtImagingPanel` to a :class:`ViewMirror`; ``close()`` twice is harmless."""

    def __init__(self, panel: QtImagingPanel, mirror: ViewMirror, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else panel)
        self.panel = panel
        self.mirror = mirror
        self.connected = False
        self._pending: ViewState | None = None  # waits for its series to load
        self._closed = False
        mirror.availability = self.availability
        mirror.on_apply.append(self.apply)
        mirror.on_changed.append(self._mirror_changed)

        self.act_follow = QAction(panel, checkable=True)
        self.act_follow.setObjectName("actFollowMe")
        self.act_follow.triggered.connect(self._follow_toggled)
        self.act_follow.setEnabled(False)
        # early in the toolbar (after opening), where a narrow dock does not push it into the overflow
        actions = panel.toolbar.actions()
        after_open = actions.index(panel.act_pacs) + 1 if panel.act_pacs in actions else len(actions)
        before = actions[after_open] if after_open < len(actions) else None
        if before is None:
            panel.toolbar.addSeparator()
            panel.toolbar.addAction(self.act_follow)
        else:
            panel.toolbar.insertSeparator(before)
            panel.toolbar.insertAction(before, self.act_follow)
        self.banner = QLabel(panel)
        self.banner.setObjectName("viewMirrorBanner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        layout = panel.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertWidget(1, self.banner)
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, round(mirror.interval * 1000)))
        self.timer.timeout.connect(self.tick)
        panel.sig_loaded.connect(self._series_loaded)
        self.retranslate()

    # --- reading the view ---------------------------------------------------------------------
    def capture(self) -> ViewState | None:
        """The panel's view now, or None when nothing is open."""
        panel = self.panel
        series, view = panel.series, panel.slice_view
        if series is None or view.renderer is None or view.volume is None:
            return None
        rows, cols = view.renderer.mapping.shape
        window = view.current_window() or WindowLevel(40.0, 400.0)
        scale = _px_per_mm(view)
        camera = None
        volume_view = panel.volume_view
        if volume_view is not None:
            cam = volume_view.renderer.GetActiveCamera()
            camera = Camera(
                position=_vec3(cam.GetPosition()),
                focal_point=_vec3(cam.GetFocalPoint()),
                view_up=_vec3(cam.GetViewUp()),
            )
        crosshair = panel.mpr_view.crosshair
        return ViewState(
            study_uid=self.study_uid_of(series.series_instance_uid),
            series_uid=series.series_instance_uid,
            mode=_FROM_PANEL.get(panel.stack.currentIndex(), ViewMode.SLICE),
            slice_lps=_vec3(view.image_to_lps(QPointF(cols / 2.0, rows / 2.0))),
            window_center=window.center,
            window_width=max(window.width, 1e-3),
            zoom=view.zoom,
            pan_mm=(view.pan.x() / scale, view.pan.y() / scale),
            crosshair_lps=None if crosshair is None else _vec3(crosshair),
            camera=camera,
        )

    def held(self) -> set[tuple[str, str]]:
        """(Study, Series Instance UID) of every series this site has open or listed."""
        pairs: set[tuple[str, str]] = set()
        discovery = self.panel.discovery
        if discovery is not None:
            for patient in discovery.patients:
                for study in patient.studies:
                    pairs.update((study.study_instance_uid, s.series_instance_uid) for s in study.series)
        series = self.panel.series
        if series is not None:
            pairs.add((self.study_uid_of(series.series_instance_uid), series.series_instance_uid))
        return pairs

    def study_uid_of(self, series_uid: str) -> str:
        discovery = self.panel.discovery
        if discovery is not None:
            for patient in discovery.patients:
                for study in patient.studies:
                    if any(s.series_instance_uid == series_uid for s in study.series):
                        return study.study_instance_uid
        series = self.panel.series
        if series is not None and series.instances:
            return str(series.instances[0].dataset.get("StudyInstanceUID", ""))
        return ""

    def availability(self, study_uid: str, series_uid: str) -> Availability:
        held = self.held()
        if (study_uid, series_uid) in held:
            return "here"
        return "no_series" if any(study == study_uid for study, _ in held) else "no_study"

    # --- applying a state ---------------------------------------------------------------------
    def apply(self, state: ViewState) -> None:
        self._pending = None if apply_view_state(self.panel, state) else state

    def _series_loaded(self, _result: LoadResult) -> None:
        pending = self._pending
        if pending is not None and self.mirror.role is Role.FOLLOWER:
            self.apply(pending)

    # --- leading ------------------------------------------------------------------------------
    def tick(self) -> None:
        """While leading: offer the current view (sent if changed, at most at the mirror's rate)."""
        if self.mirror.role is not Role.LEADER:
            return
        try:
            state = self.capture()
        except ValueError as exc:  # e.g. a study whose UIDs are not valid DICOM UIDs: nothing to mirror
            log.debug("view mirror: view not captured: %s", exc)
            state = None
        if state is not None:
            self.mirror.offer(state)
        self.mirror.flush()

    def set_connected(self, connected: bool) -> None:
        """A call is (or is no longer) there to mirror over."""
        self.connected = connected
        if not connected:
            self.mirror.reset()
        self._mirror_changed()

    def _follow_toggled(self, checked: bool) -> None:
        if checked:
            self.mirror.follow_me()
            self.tick()
        else:
            self.mirror.stop()

    def _mirror_changed(self) -> None:
        if self._closed:
            return
        role = self.mirror.role
        self.act_follow.setEnabled(self.connected)
        self.act_follow.setChecked(role is Role.LEADER)
        if role is Role.LEADER:
            self.timer.start()
        else:
            self.timer.stop()
        if role is not Role.FOLLOWER:
            self._pending = None
        self._update_banner()

    # --- text -----------------------------------------------------------------------------------
    def banner_text(self) -> str:
        mirror = self.mirror
        peer = mirror.peer_name
        notice = mirror.notice
        if notice is not None:
            texts = {
                "refused": tr(
                    "QtViewMirror", "Refused the other site's view: study %1 is not this consult's study."
                ),
                "missing": tr(
                    "QtViewMirror", "This site does not have the series the other site shows (%1)."
                ),
                "peer_missing": tr("QtViewMirror", "The other site does not have this series (%1)."),
                "peer_refused": tr("QtViewMirror", "The other site refused this view: %1"),
            }
            detail = notice.detail
            if notice.kind == "peer_refused":
                detail = {
                    "study_mismatch": tr("QtViewMirror", "it is not the consult's study."),
                    "invalid": tr("QtViewMirror", "the message was not valid."),
                }.get(detail, detail)
            return texts[notice.kind].replace("%1", detail)
        if mirror.role is Role.FOLLOWER:
            if peer:
                return tr("QtViewMirror", "Following %1").replace("%1", peer)
            return tr("QtViewMirror", "Following the other site")
        if mirror.role is Role.LEADER:
            if peer:
                return tr("QtViewMirror", "%1 follows you").replace("%1", peer)
            return tr("QtViewMirror", "The other site follows you")
        return ""

    def _update_banner(self) -> None:
        text = self.banner_text()
        self.banner.setText(text)
        self.banner.setStyleSheet(NOTICE_STYLE if self.mirror.notice is not None else BANNER_STYLE)
        self.banner.setVisible(bool(text))

    def retranslate(self) -> None:
        self.act_follow.setText(tr("QtViewMirror", "Follow me"))
        self.act_follow.setToolTip(
            tr("QtViewMirror", "The other site follows your view; either of you can take over")
        )
        self._update_banner()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        if self.apply in self.mirror.on_apply:
            self.mirror.on_apply.remove(self.apply)
        if self._mirror_changed in self.mirror.on_changed:
            self.mirror.on_changed.remove(self._mirror_changed)
