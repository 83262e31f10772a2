"""The slice view measures in the image's calibration, as the user reads it: an ultrasound line of
6.49 mm reads 6.49 mm (not 100 mm), lines across regions are refused on screen, a radiograph says its
lengths are at the detector, and an uncalibrated image says px, never mm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_calibration import (
    DELTA_CM,
    TRUE_MM,
    _file,
    dx_dataset,
    us_dataset,
    write,
)
from viewers.dicom.calibration import Source
from viewers.imaging_panel import QtImagingPanel
from viewers.measure import Kind
from viewers.slice_view import QtSliceView, Tool

pytestmark = pytest.mark.gui


@pytest.fixture
def panels() -> Iterator[list[QtImagingPanel]]:
    made: list[QtImagingPanel] = []
    yield made
    for panel in made:
        panel.close_model()


def open_panel(qtbot, made: list[QtImagingPanel], folder: Path) -> QtImagingPanel:
    panel = QtImagingPanel()
    made.append(panel)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    with qtbot.waitSignal(panel.sig_loaded, timeout=30_000):
        panel.load_paths([folder])
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    return panel


def painted_text(view: QtSliceView) -> None:
    """Paint once (labels are computed while painting) so a failure to draw shows here."""
    view.repaint()


def test_ultrasound_measures_in_its_region_and_refuses_across_regions(
    qtbot, panels: list[QtImagingPanel], tmp_path: Path, shots: Path
) -> None:
    write(us_dataset(), tmp_path / "us", "us.dcm")
    panel = open_panel(qtbot, panels, tmp_path / "us")
    view = panel.slice_view
    cal = view.calibration
    assert cal is not None and cal.source is Source.ULTRASOUND and len(cal.regions) == 2
    pixels = TRUE_MM / (DELTA_CM * 10)
    good = view.measure(Kind.DISTANCE, [(150, 150), (150 + pixels, 150)])
    assert good is not None
    assert view.measurement_text(good) == "6.49 mm"
    assert panel.document.reading(good).value == pytest.approx(TRUE_MM, abs=0.01)
    across = view.measure(Kind.DISTANCE, [(450, 200), (450, 400)])
    assert across is not None
    assert view.measurement_text(across) == "Not measured: the points lie in different ultrasound regions"
    doppler = view.measure(Kind.DISTANCE, [(300, 330), (550, 350)])
    assert doppler is not None and view.measurement_text(doppler) == "Δx 1.00 s, Δy 10.00 cm/s"
    assert view._scale_lines() == ["Ultrasound regions: 2"]
    lengths = [length for _m, length in panel.document.lengths_mm()]
    assert lengths == [pytest.approx(TRUE_MM, abs=0.01)]
    view.set_tool(Tool.DISTANCE)  # the regions show while measuring
    painted_text(view)
    assert view.grab().save(str(shots / "us-measure.png"))


def test_a_radiograph_with_imager_pixel_spacing_says_at_the_detector(
    qtbot, panels: list[QtImagingPanel], tmp_path: Path, shots: Path
) -> None:
    write(dx_dataset(), tmp_path / "dx", "dx.dcm")
    panel = open_panel(qtbot, panels, tmp_path / "dx")
    view = panel.slice_view
    assert view.calibration is not None and view.calibration.source is Source.DETECTOR
    m = view.measure(Kind.DISTANCE, [(20, 20), (20 + TRUE_MM / 0.139, 20)])
    assert m is not None and view.measurement_text(m) == "6.49 mm (at the detector)"
    assert view._scale_lines() == ["0.139 mm/px", "Measured at the detector (Imager Pixel Spacing)"]
    painted_text(view)
    view.grab().save(str(shots / "dx-measure.png"))


def test_an_uncalibrated_image_measures_in_pixels(
    qtbot, panels: list[QtImagingPanel], tmp_path: Path, shots: Path
) -> None:
    write(_file("1.2.840.10008.5.1.4.1.1.7", "OT", 128, 128), tmp_path / "sc", "sc.dcm")
    panel = open_panel(qtbot, panels, tmp_path / "sc")
    view = panel.slice_view
    assert view.calibration is not None and view.calibration.source is Source.NONE
    m = view.measure(Kind.DISTANCE, [(10, 10), (40, 50)])
    assert m is not None and view.measurement_text(m) == "50.00 px, not calibrated"
    roi = view.measure(Kind.ELLIPSE, [(60, 60), (100, 80)])
    assert roi is not None and "px², not calibrated" in view.measurement_text(roi)
    assert "mm" not in view.measurement_text(roi)
    assert view._scale_lines() == ["px, not calibrated"]
    assert panel.document.lengths_mm() == []
    painted_text(view)
    view.grab().save(str(shots / "sc-measure.png"))


def test_a_view_on_its_own_takes_its_dataset_from_a_source(qtbot) -> None:
    from tests.unit.test_calibration import flat_volume

    view = QtSliceView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    ds = us_dataset()
    view.dataset_source = lambda _volume: ds
    view.set_volume(flat_volume(480, 640))
    m = view.measure(Kind.DISTANCE, [(100, 100), (100 + TRUE_MM / (DELTA_CM * 10), 100)])
    assert m is not None and view.measurement_text(m) == "6.49 mm"
    view.dataset_source = None
    view.set_volume(flat_volume(10, 10))  # no panel, no dataset: the geometry is all that is known
    assert view.calibration is None


def test_plugins_get_calibrated_millimetres_only(qtbot, panels: list[QtImagingPanel], tmp_path: Path) -> None:
    """What a plugin's ``ImagingMeasurement.length_mm`` receives: the ultrasound line in its region's
    millimetres, never the refused line; nothing at all from an uncalibrated image."""
    from app.wiring.plugins import imaging_measurements

    write(us_dataset(), tmp_path / "us", "us.dcm")
    panel = open_panel(qtbot, panels, tmp_path / "us")

    class Window:  # what the wiring asks of the main window: where its imaging panel is
        def findChild(self, _kind: object) -> QtImagingPanel:
            return panel

    window = Window()
    view = panel.slice_view
    view.measure(Kind.DISTANCE, [(150, 150), (150 + TRUE_MM / (DELTA_CM * 10), 150)])
    view.measure(Kind.DISTANCE, [(450, 200), (450, 400)])  # across regions: refused
    (sent,) = imaging_measurements(window)  # type: ignore[arg-type]
    assert sent.length_mm == pytest.approx(TRUE_MM, abs=0.01) and sent.label == "6.49 mm"
    assert panel.series is not None and sent.series_uid == panel.series.series_instance_uid
    write(_file("1.2.840.10008.5.1.4.1.1.7", "OT", 128, 128), tmp_path / "sc", "sc.dcm")
    with qtbot.waitSignal(panel.sig_loaded, timeout=30_000):
        panel.load_paths([tmp_path / "sc"])
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    view.measure(Kind.DISTANCE, [(10, 10), (40, 50)])
    assert imaging_measurements(window) == []  # type: ignore[arg-type]
