"""The imaging panel end to end: load a CT folder with bad files in it off the UI thread, scroll,
window presets, measure with the mouse, MPR crosshair linking, cine, de-identified export, demo."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from viewers.dicom.synthetic import write_ct_series, write_us_cine
from viewers.imaging_panel import QtImagingPanel, ViewMode
from viewers.measure import Kind
from viewers.reslice import PRESETS, Plane, Preset
from viewers.slice_view import QtSliceView, Tool

pytestmark = pytest.mark.gui

SPACING = (0.7, 0.8, 2.5)


@pytest.fixture
def ct_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ct"
    write_ct_series(folder, shape=(12, 64, 64), spacing=SPACING)
    (folder / "notes.txt").write_text("not an image")
    victim = sorted(folder.glob("IM*"))[5]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 3000])  # truncated inside its pixel data
    return folder


def make_panel(qtbot, **kwargs: object) -> QtImagingPanel:  # type: ignore[no-untyped-def]
    panel = QtImagingPanel(**kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    return panel


def load(qtbot, panel: QtImagingPanel, folder: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.sig_loaded, timeout=30_000):
        panel.load_paths([folder])
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)


def wheel(view: QtSliceView, steps: int) -> None:
    centre = QPointF(view.width() / 2, view.height() / 2)
    event = QWheelEvent(
        centre,
        view.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view, event)


def widget_point(view: QtSliceView, x: float, y: float) -> QPoint:
    return view.image_to_widget(QPointF(x, y)).toPoint()


def test_loads_a_ct_folder_listing_bad_files_and_reads_it(qtbot, ct_folder: Path) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot)
    try:
        load(qtbot, panel, ct_folder)
        assert panel.first_slice_shown
        result = panel.load_result
        assert result is not None and result.volume.array.shape == (11, 64, 64)
        reasons = " | ".join(panel.browser.rejected_texts())
        assert "notes.txt: not a DICOM file" in reasons
        assert "truncated" in reasons
        assert len(panel.browser.series_items) == 1
        assert "could not be used" in panel.status.text()
        view = panel.slice_view
        assert view.value_unit == "HU" and view.overlay_left[0] == "Doe Jane"

        # scrolling: wheel and keys
        view.set_slice(5)
        with qtbot.waitSignal(view.sig_slice_changed) as blocker:
            wheel(view, -1)
        assert blocker.args == [6]
        qtbot.keyClick(view, Qt.Key.Key_Up)
        assert view.index == 5
        qtbot.keyClick(view, Qt.Key.Key_End)
        assert view.index == 10

        # window/level preset: lung window shows water (40 HU) much brighter than soft tissue does
        panel.apply_preset(Preset.CT_SOFT_TISSUE)
        soft = int(view.renderer.render(view.index)[32, 45])  # type: ignore[union-attr]
        panel.apply_preset(Preset.CT_LUNG)
        assert view.current_window() == PRESETS[Preset.CT_LUNG]
        lung = int(view.renderer.render(view.index)[32, 45])  # type: ignore[union-attr]
        assert soft == 127 and lung > 200

        # window by right-drag: wider to the right
        before = view.current_window()
        assert before is not None
        start = QPoint(200, 200)
        qtbot.mousePress(view, Qt.MouseButton.RightButton, pos=start)
        qtbot.mouseMove(view, QPoint(300, 200))
        qtbot.mouseRelease(view, Qt.MouseButton.RightButton, pos=QPoint(300, 200))
        after = view.current_window()
        assert after is not None and after.width > before.width

        # distance with the mouse: 40 columns of 0.7 mm
        panel.set_tool(Tool.DISTANCE)
        a, b = widget_point(view, 10.5, 30.5), widget_point(view, 50.5, 30.5)
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(view, b)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)
        distances = [m for m in panel.document if m.kind is Kind.DISTANCE]
        assert len(distances) == 1
        assert panel.document.value(distances[0]) == pytest.approx(40 * 0.7, abs=0.7)
        assert distances[0] in view.visible_measurements()
        assert view.measurement_text(distances[0]).endswith(" mm")

        # an ellipse ROI in water reads 40 HU, SD 0
        roi = view.measure(Kind.ELLIPSE, [(40, 26), (50, 38)])
        assert roi is not None
        stats = panel.document.stats(roi)
        assert stats is not None and stats.mean == pytest.approx(40.0) and stats.sd == pytest.approx(0.0)
        assert "HU" in view.measurement_text(roi)
        # measurements stay with their slice
        view.set_slice(view.index - 3)
        assert view.visible_measurements() == []
        panel.document.clear()
        assert len(panel.document) == 0
    finally:
        panel.close_model()
        panel.close_model()


def test_mpr_click_in_one_plane_moves_the_others(qtbot, ct_folder: Path) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot)
    try:
        load(qtbot, panel, ct_folder)
        panel.set_mode(ViewMode.MPR)
        mpr = panel.mpr_view
        axial, coronal, sagittal = (mpr.views[p] for p in (Plane.AXIAL, Plane.CORONAL, Plane.SAGITTAL))
        assert (axial.slice_count, coronal.slice_count, sagittal.slice_count) == (11, 64, 64)
        assert coronal.renderer is not None and coronal.renderer.mapping.pixel_spacing == (0.7, 2.5)
        axial.set_slice(4)
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=widget_point(axial, 20.5, 40.5))
        assert (coronal.index, sagittal.index) == (40, 20)
        assert mpr.crosshair is not None
        volume = panel.volume
        assert volume is not None
        np.testing.assert_allclose(volume.lps_to_index(mpr.crosshair.tolist()), [20, 40, 4], atol=0.3)
        # and back: a click in the coronal view pages the axial view
        _s, pos = coronal.lps_to_image(volume.index_to_lps([10, 40, 7]))
        qtbot.mouseClick(coronal, Qt.MouseButton.LeftButton, pos=coronal.image_to_widget(pos).toPoint())
        assert (axial.index, sagittal.index) == (7, 10)
        assert coronal.renderer.mapping.labels()["top"] == "S"
    finally:
        panel.close_model()


def test_cine_loop_plays(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_us_cine(tmp_path / "us", frames=8, rgb=True)
    panel = make_panel(qtbot)
    try:
        load(qtbot, panel, tmp_path / "us")
        view = panel.slice_view
        assert view.is_cine and view.slice_count == 8
        assert panel.act_cine.isVisible() and not panel.act_mpr.isEnabled()
        start = view.index
        panel.act_cine.setChecked(True)
        qtbot.waitUntil(lambda: view.index != start, timeout=5000)
        panel.act_cine.setChecked(False)
        assert not view.cine_timer.isActive()
    finally:
        panel.close_model()


def test_export_writes_a_deidentified_copy_and_leaves_the_originals(  # type: ignore[no-untyped-def]
    qtbot, ct_folder: Path, tmp_path: Path
) -> None:
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in ct_folder.iterdir()}
    panel = make_panel(qtbot)
    try:
        load(qtbot, panel, ct_folder)
        out = tmp_path / "teaching"
        with qtbot.waitSignal(panel.sig_exported, timeout=30_000) as blocker:
            panel.export_deidentified(out)
        report = blocker.args[0]
        assert len(report.written) == 11
        copy = pydicom.dcmread(report.written[0][1])
        assert str(copy.get("PatientName", "")) != "Doe^Jane" and "Smith" not in str(copy)
        assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in ct_folder.iterdir()} == before
        assert "De-identified copy written" in panel.status.text()
    finally:
        panel.close_model()


def test_trainee_sees_no_identity(qtbot, ct_folder: Path) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel(qtbot, show_identity=False)
    try:
        load(qtbot, panel, ct_folder)
        texts = " ".join(panel.slice_view.overlay_left + panel.slice_view.overlay_right)
        assert "Doe" not in texts and "PID-12345" not in texts
        top = panel.browser.tree.topLevelItem(0)
        assert top is not None and top.text(0) == "Patient 1"
    finally:
        panel.close_model()


def test_cancel_stops_loading(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_ct_series(tmp_path / "big", shape=(80, 128, 128))
    panel = make_panel(qtbot)
    try:
        panel.load_paths([tmp_path / "big"])
        panel.cancel()
        qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
        assert panel.load_result is None
        assert "cancelled" in panel.status.text()
    finally:
        panel.close_model()


def test_demo_workstation_opens_the_synthetic_ct(qtbot, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    """The demo CT (Zhang Wei, CT-2026-0042) opens only while his consult is in context: not before
    sign-in, not in Liu Fang's emergency consult (it has no CT); and it goes when the consult ends."""
    from datetime import date

    from app.context import Workstation
    from app.main_window import MainWindow
    from app.wiring.imaging import DEMO_CT_SHAPE, DEMO_STUDY_UID, panels
    from core.config.paths import app_paths
    from core.config.roles import PanelId, Role
    from core.config.settings import SiteConfig, UserSettingsStore
    from core.consult.patient import Patient

    paths = app_paths().ensure()
    store = UserSettingsStore(paths.user_settings_file)
    ws = Workstation(paths, SiteConfig(), None, store, store.load(), Role.SPECIALIST, "en", demo=True)
    window = MainWindow(ws, panels(None))  # type: ignore[arg-type]  # the imaging panel needs no link
    qtbot.addWidget(window)
    window.show()
    try:
        deferred = window.docks[PanelId.IMAGING].widget()
        qtbot.waitUntil(lambda: getattr(deferred, "built", False), timeout=10_000)
        panel = deferred.content  # type: ignore[attr-defined]
        assert isinstance(panel, QtImagingPanel)
        # before any consult (before sign-in): nothing is prepared, nothing loads
        assert not panel.busy and not panel.source_paths and "Preparing" not in panel.status.text()
        liu = Patient("US-2026-0107", "Liu Fang", "F", date(1958, 9, 2))
        ws.context.open(liu, consult_id=2)
        assert not panel.busy and not panel.source_paths and "Preparing" not in panel.status.text()

        zhang = Patient("CT-2026-0042", "Zhang Wei", "M", date(1961, 3, 14))
        ws.context.open(zhang, consult_id=1, study_uid=DEMO_STUDY_UID)
        qtbot.waitUntil(lambda: panel.load_result is not None, timeout=60_000)
        assert panel.load_result is not None
        assert panel.load_result.volume.array.shape == DEMO_CT_SHAPE
        assert (paths.data_dir / "demo" / "ct-synthetic" / ".complete").exists()
        assert panel.slice_view.overlay_left[:2] == ["Zhang Wei", "CT-2026-0042"]
        assert panel.annotation_context is not None and panel.annotation_context.study_uid == DEMO_STUDY_UID

        ws.context.open(liu, consult_id=2)  # the emergency: the CT goes, and does not come back
        assert panel.load_result is None and panel.slice_view.overlay_left == []
        qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
        assert panel.series is None and "Preparing" not in panel.status.text()
    finally:
        window.close()
    assert panel._closed  # the main window closed the panel's model and its loading thread


def test_drop_a_folder_and_pacs_retrieval_load_it(qtbot, ct_folder: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    panel = make_panel(qtbot)
    try:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(ct_folder))])
        drop = QDropEvent(
            QPointF(50, 50),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        with qtbot.waitSignal(panel.sig_loaded, timeout=30_000):
            panel.dropEvent(drop)
        assert panel.source_paths == [ct_folder]
        # the view followed the load to the middle of the volume
        qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
        assert panel.slice_view.index == panel.slice_view.slice_count // 2

        # viewers.pacs_dialog ships with the product: "From PACS…" is there to use
        assert panel.act_pacs.isEnabled()
        dialog = panel.open_pacs()
        assert dialog is not None
        qtbot.addWidget(dialog)
        panel.load_result = None
        with qtbot.waitSignal(panel.sig_loaded, timeout=30_000):
            dialog.sig_retrieved.emit(str(ct_folder))  # type: ignore[attr-defined]
        assert panel.load_result is not None
        dialog.close()
    finally:
        panel.close_model()


def test_angle_polygon_and_ellipse_drawn_with_the_mouse(qtbot) -> None:  # type: ignore[no-untyped-def]
    from viewers.dicom.volume import Volume

    array = np.full((3, 100, 100), 40, np.int16)
    array[1, 40:60, 40:60] = 200
    view = QtSliceView(Plane.AXIAL)
    qtbot.addWidget(view)
    view.resize(500, 500)
    view.set_volume(Volume(array, (0.5, 0.5, 3.0), (0.0, 0.0, 0.0), np.eye(3)))
    view.show()
    view.set_slice(1)
    try:
        view.set_tool(Tool.ANGLE)
        for x, y in ((80.5, 20.5), (20.5, 20.5), (20.5, 80.5)):
            qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=widget_point(view, x, y))
        (angle,) = [m for m in view.document if m.kind is Kind.ANGLE]
        assert view.document.value(angle) == pytest.approx(90.0, abs=1.5)

        view.set_tool(Tool.POLYGON)
        corners = [(40.3, 40.3), (59.7, 40.3), (59.7, 59.7), (40.3, 59.7)]  # around voxels 40..59
        for x, y in corners:
            qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=widget_point(view, x, y))
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=widget_point(view, *corners[0]))  # close it
        (polygon,) = [m for m in view.document if m.kind is Kind.POLYGON]
        stats = view.document.stats(polygon)
        assert stats is not None and stats.mean == pytest.approx(200, abs=1) and stats.pixels == 400
        assert stats.area_mm2 == pytest.approx(19.4 * 19.4 * 0.25, rel=0.1)

        view.set_tool(Tool.ELLIPSE)
        a, b = widget_point(view, 10, 70), widget_point(view, 30, 90)
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(view, b)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)
        (ellipse,) = [m for m in view.document if m.kind is Kind.ELLIPSE]
        assert view.document.value(ellipse) == pytest.approx(np.pi * 5 * 5, rel=0.1)  # radius 10 px of 0.5 mm
        assert len(view.visible_measurements()) == 3
        view.repaint()  # paints labels for all three without error
    finally:
        view.close_model()
