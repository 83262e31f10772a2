"""Wiring of the imaging panel (study browser, 2D/MPR/3D views, measurements; issue 4) into the main window.

`panels(link)` returns the panel factories this capability contributes; `app.panels` gathers them.
The panel is built after the window's first paint (pydicom and the views are not start-up costs).
In demo mode it opens a synthetic CT written once into the user's data folder, in the background.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.roles import PanelId

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.main_window import MainWindow, PanelFactory
    from app.services import BackendLink

DEMO_CT_SHAPE = (120, 256, 256)  # slices, rows, columns
DEMO_CT_SPACING = (0.9, 0.9, 2.0)  # x, y, z in mm


DEMO_CT_VERSION = "chest-1"


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
            patient_name="Zhang^Wei",
            patient_id="CT-2026-0042",  # the demo worklist's CT consult (backend/demo.py)
            study_description="CT chest with contrast",
        )
        marker.write_text(DEMO_CT_VERSION + "\n", encoding="utf-8")
    return folder


def annotation_document(link: BackendLink | None) -> Any:
    """The consult's shared annotation document (issue 7), or None where that wiring is absent."""
    if link is None:
        return None
    try:
        from app.annotations_wiring import document_for
    except ImportError:
        return None
    return document_for(link)


def _imaging_panel(window: MainWindow, link: BackendLink | None = None) -> QWidget:
    from app.main_window import empty_state_texts
    from widgets.deferred_panel import QtDeferredPanel
    from widgets.empty_state import QtEmptyState

    ws = window.ws

    def build() -> QWidget:
        from viewers.imaging_panel import QtImagingPanel
        from widgets.i18n import tr

        panel = QtImagingPanel(
            show_identity=ws.permissions.see_identity,
            pacs_endpoints=ws.site.pacs,
            cache_dir=ws.paths.cache_dir / "pacs",
        )
        document = annotation_document(link)
        if document is not None:  # landmarks, trajectories, planes and labels shared with the other site
            panel.attach_annotations(document)
        if ws.demo:
            panel.status.setText(tr("QtImagingPanel", "Preparing the demo CT study…"))
            panel.run_in_background(
                lambda: demo_ct_folder(ws.paths.data_dir),
                lambda folder: panel.load_paths([folder]) if isinstance(folder, Path) else None,
            )
        return panel

    return QtDeferredPanel(build, QtEmptyState(*empty_state_texts(PanelId.IMAGING)))


def panels(link: BackendLink) -> dict[PanelId, PanelFactory]:
    return {PanelId.IMAGING: lambda window: _imaging_panel(window, link)}
