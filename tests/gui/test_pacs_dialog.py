"""The PACS dialog against a real Orthanc: search, expand, retrieve off the UI thread, errors shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from core.config.settings import PacsEndpoint
from tests.helpers import free_port
from tests.orthanc_server import OrthancServer, available
from viewers.dicom import synthetic
from viewers.dicom.discovery import discover
from viewers.dicom.series import sort_series
from viewers.dicom.volume import load_volume
from viewers.pacs_dialog import QtPacsDialog

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def pacs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[OrthancServer, synthetic.SyntheticSeries]]:
    reason = available()
    if reason:
        pytest.fail(f"{reason}: apt install orthanc orthanc-dicomweb (scripts/system-deps.sh)", pytrace=False)
    server = OrthancServer().start()
    try:
        root = tmp_path_factory.mktemp("pacs-dialog")
        ct = synthetic.write_ct_series(root / "ct", (10, 48, 48))
        other = synthetic.write_ct_series(root / "mr", (3, 16, 16), seed=2)
        server.upload(ct.paths)
        server.upload(other.paths)
        yield server, ct
    finally:
        server.stop()


def _endpoints(server: OrthancServer) -> list[PacsEndpoint]:
    return [
        PacsEndpoint(name="Orthanc web", kind="dicomweb", url=server.dicomweb_url),  # type: ignore[arg-type]
        PacsEndpoint(
            name="Orthanc DIMSE",
            kind="dimse",
            host="127.0.0.1",
            port=server.dicom_port,
            called_ae=server.aet,
            calling_ae=server.client_aet,
        ),
    ]


def _dialog(qtbot, server: OrthancServer, cache: Path, **kwargs: object) -> QtPacsDialog:  # type: ignore[no-untyped-def]
    credentials = {"Orthanc web": server.user}
    dialog = QtPacsDialog(_endpoints(server), cache, credentials=credentials, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


@pytest.mark.parametrize("endpoint_index", [0, 1])
def test_search_expand_and_retrieve_a_series(qtbot, pacs, tmp_path: Path, endpoint_index: int) -> None:  # type: ignore[no-untyped-def]
    server, ct = pacs
    dialog = _dialog(qtbot, server, tmp_path / "cache")
    dialog.endpoint_box.setCurrentIndex(endpoint_index)
    dialog.name_edit.setText("doe")
    dialog.modality_box.setCurrentIndex(dialog.modality_box.findData("CT"))
    dialog.search_button.click()
    qtbot.waitUntil(lambda: dialog.results.topLevelItemCount() == 2, timeout=15000)
    row = next(
        dialog.results.topLevelItem(i)
        for i in range(2)
        if dialog.results.topLevelItem(i).data(0, 0x0100).study_instance_uid == ct.study_uid
    )
    assert [row.text(c) for c in (0, 1, 2, 3, 5, 6)] == [
        "Doe, Jane",
        "PID-12345",
        "2026-01-01",
        "CT",
        "1",
        "10",
    ]
    assert "2 studies" in dialog.status.text()
    row.setExpanded(True)
    qtbot.waitUntil(lambda: row.childCount() == 1, timeout=15000)
    dialog.results.setCurrentItem(row.child(0))
    assert dialog.retrieve_button.isEnabled()
    with qtbot.waitSignal(dialog.sig_retrieved, timeout=30000) as blocker:
        dialog.retrieve_button.click()
        assert dialog.cancel_button.isEnabled()  # the click returned at once: work is off the UI thread
    folder = Path(blocker.args[0])
    assert folder.is_relative_to(tmp_path / "cache")
    (series,) = discover(folder).all_series()
    np.testing.assert_array_equal(load_volume(sort_series(series.instances)).volume.array, ct.hu)
    assert "Retrieved 10 images" in dialog.status.text()
    assert not dialog.cancel_button.isEnabled() and not dialog.progress.isVisible()


def test_unreachable_pacs_shows_an_error_and_stays_usable(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    endpoint = PacsEndpoint(name="Gone", kind="dimse", host="127.0.0.1", port=free_port(), called_ae="GONE")
    dialog = QtPacsDialog([endpoint], tmp_path, timeout_s=3)
    qtbot.addWidget(dialog)
    dialog.search_button.click()
    qtbot.waitUntil(lambda: "Search failed" in dialog.status.text(), timeout=10000)
    assert "cannot connect" in dialog.status.text()
    assert dialog.search_button.isEnabled()
    dialog.date_from.setText("2026-01")
    dialog.search_button.click()
    assert "YYYYMMDD" in dialog.status.text()
    dialog.close()
    dialog.close()  # twice is harmless


def test_no_endpoints_says_so(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = QtPacsDialog([], tmp_path)
    qtbot.addWidget(dialog)
    assert "No PACS is configured" in dialog.status.text()
    assert not dialog.search_button.isEnabled() and not dialog.retrieve_button.isEnabled()


def test_screenshot_with_results(qtbot, pacs, tmp_path: Path, shots: Path) -> None:  # type: ignore[no-untyped-def]
    server, _ct = pacs
    dialog = _dialog(qtbot, server, tmp_path)
    dialog.search_button.click()
    qtbot.waitUntil(lambda: dialog.results.topLevelItemCount() == 2, timeout=15000)
    row = dialog.results.topLevelItem(0)
    row.setExpanded(True)
    qtbot.waitUntil(lambda: row.childCount() == 1, timeout=15000)
    QApplication.processEvents()
    image = dialog.grab()
    assert image.save(str(shots / "pacs-dialog.png"))
    assert image.width() > 600
