"""Replay of the imaging track: a recording that carries the consult's CT and the instructor's view states
plays them back beside the video, each state at its moment, and after a seek the one that was showing;
a teaching file does the same with its de-identified copy (the UIDs in the view states are mapped with
the imaging's).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from core.annotations.model import AnnotationDocument
from core.teaching.library import CaseLibrary
from core.teaching.replay import Recording
from core.teaching.scoring import ScoreBook
from core.teaching.tracks import SessionRecorder
from tests.gui.test_replay_player import FPS, MS, PATIENT, FakeClock, S, SteppedClock, _frame
from viewers.dicom.synthetic import SyntheticSeries, write_ct_series
from viewers.replay_imaging import QtReplayImaging
from viewers.reslice import WindowLevel
from viewers.viewstate import ViewState
from widgets.replay_player import QtReplayPlayer

FIRST = (3, 40.0, 400.0, 1.0)  # slice, window centre, width, zoom: shown from 0.5 s
SECOND = (9, 300.0, 1500.0, 2.0)  # from 1.5 s


def _state(series: SyntheticSeries, slice_index: int, centre: float, width: float, zoom: float) -> Any:
    """What the mirrored view sends (and the recorder keeps): a ViewState as JSON."""
    slice_lps = tuple(float(v) for v in series.positions[slice_index])
    state = ViewState(study_uid=series.study_uid, series_uid=series.series_uid, slice_lps=slice_lps,
                      window_center=centre, window_width=width, zoom=zoom)
    return state.model_dump(mode="json")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticSeries]:
    root = tmp_path_factory.mktemp("replay-imaging")
    series = write_ct_series(root / "ct", shape=(12, 32, 32), patient_name="Wang^Min", patient_id="P-9")
    clock = SteppedClock()
    recorder = SessionRecorder(root / "rec", title="CT review, Wang Min", specialty="radiology",
                               patient=PATIENT, fps=FPS, clock=clock)
    assert recorder.add_imaging(series.paths) == 12
    assert recorder.media is not None
    remote = AnnotationDocument("site-a", "dr.li")  # the bedside marks the study: patient space, LPS
    remote.op_emitted.connect(lambda op: recorder.annotation_op(op, "remote"))
    for step in range(61):  # 2 s, 30 steps a second: every other one a frame
        clock.now = round(step * S / 30)
        if step % 2 == 0:
            recorder.media.video(_frame(step // 2))
        if step == 15:
            recorder.view_state(_state(series, *FIRST))
        if step == 20:
            landmark = [float(v) for v in series.positions[FIRST[0]] + np.array([6.0, 8.0, 0.0])]
            remote.add("landmark", "patient", [landmark], text="L1", study_uid=series.study_uid,
                       series_uid=series.series_uid)
        if step == 30:
            recorder.view_state({"v": 1, "study_uid": "not a uid"})  # damaged: skipped, the view stays
        if step == 45:
            recorder.view_state(_state(series, *SECOND))
    recorder.close()
    return root / "rec", series


def _player(qtbot: Any, folder: Path, **kwargs: Any) -> tuple[QtReplayPlayer, FakeClock]:
    clock = FakeClock()
    player = QtReplayPlayer(Recording.open(folder), clock=clock, media_wait_s=None,
                            imaging_factory=QtReplayImaging, **kwargs)  # as app/ composes it
    qtbot.addWidget(player)
    player.resize(1400, 800)
    assert isinstance(player.imaging, QtReplayImaging)
    panel = player.imaging.panel
    qtbot.waitUntil(lambda: panel.load_result is not None and not panel.busy, timeout=20_000)
    return player, clock


def _advance(player: QtReplayPlayer, clock: FakeClock, to_ns: int) -> None:
    player.play()
    while clock.now < to_ns:
        clock.now = min(to_ns, clock.now + 50 * MS)
        player.tick()
    player.pause()


def _expected_index(player: QtReplayPlayer, series: SyntheticSeries, slice_index: int) -> int:
    assert player.imaging is not None
    view = player.imaging.panel.slice_view
    coord, _ = view.lps_to_image(np.asarray(series.positions[slice_index], dtype=np.float64))
    return round(coord)


def _shows(player: QtReplayPlayer, series: SyntheticSeries, expected: tuple[int, float, float, float],
           ) -> bool:
    assert player.imaging is not None
    view = player.imaging.panel.slice_view
    slice_index, centre, width, zoom = expected
    return (view.index == _expected_index(player, series, slice_index)
            and view.current_window() == WindowLevel(centre, width) and abs(view.zoom - zoom) < 1e-9)


def test_view_states_replay_at_their_moment_and_after_a_seek(
    qtbot: Any, recorded: tuple[Path, SyntheticSeries]
) -> None:
    folder, series = recorded
    player, clock = _player(qtbot, folder, can_author=True)
    imaging = player.imaging
    assert imaging is not None and imaging.panel.series is not None
    assert imaging.panel.series.series_instance_uid == series.series_uid
    assert not imaging.panel.act_open.isVisible() and not imaging.panel.act_pacs.isVisible()
    assert _expected_index(player, series, FIRST[0]) != _expected_index(player, series, SECOND[0])
    assert imaging.state is None  # nothing recorded before 0.5 s: the series as it opened

    overlay = imaging.panel.slice_view.annotation_overlay
    assert overlay is not None and overlay.projections() == []
    _advance(player, clock, 1000 * MS)
    assert _shows(player, series, FIRST) and imaging.bad_states == 1  # the damaged one at 1.0 s: skipped
    assert [p.text for p in overlay.projections()] == ["L1"]  # the landmark drawn at 0.67 s, on its slice
    _advance(player, clock, 1600 * MS)
    assert _shows(player, series, SECOND)

    assert overlay.projections() == []  # another slice
    player.seek(700 * MS)  # back: the state that was showing at 0.7 s, the landmark drawn
    assert _shows(player, series, FIRST) and [p.text for p in overlay.projections()] == ["L1"]
    player.seek(600 * MS)  # before the landmark
    assert _shows(player, series, FIRST) and overlay.projections() == []
    player.seek(1900 * MS)
    assert _shows(player, series, SECOND)
    player.close_player()
    player.close_player()


def test_a_teaching_file_replays_its_deidentified_imaging(
    qtbot: Any, recorded: tuple[Path, SyntheticSeries], tmp_path: Path
) -> None:
    folder, series = recorded
    case = CaseLibrary(tmp_path / "library").add_teaching_case(folder, b"site-salt")
    player, clock = _player(qtbot, case.folder)
    imaging = player.imaging
    assert imaging is not None and imaging.panel.series is not None
    copied = imaging.panel.series
    assert copied.series_instance_uid != series.series_uid  # de-identified: new UIDs
    assert "Wang" not in str(copied.instances[0].dataset.get("PatientName", ""))
    _advance(player, clock, 1700 * MS)
    assert imaging.state is not None and imaging.state.series_uid == copied.series_instance_uid
    assert _shows(player, series, SECOND)  # geometry is kept: the same slice as the instructor's
    player.seek(1000 * MS)
    overlay = imaging.panel.slice_view.annotation_overlay
    assert overlay is not None and [p.text for p in overlay.projections()] == ["L1"]
    player.close_player()


def test_pause_and_predict_on_the_imaging_scores_in_millimetres(
    qtbot: Any, recorded: tuple[Path, SyntheticSeries], tmp_path: Path, shots: Path
) -> None:
    source, series = recorded
    folder = tmp_path / "rec"
    shutil.copytree(source, folder)
    landmark = series.positions[FIRST[0]] + np.array([6.0, 8.0, 0.0])  # drawn by the expert at 0.67 s

    # the instructor asks at 0.6 s, on the imaging: the expert's target is the landmark drawn next
    instructor, _clock = _player(qtbot, folder, user="dr.chen", can_author=True)
    kinds = [instructor.editor.kind.itemData(i) for i in range(instructor.editor.kind.count())]
    assert "imaging_target" in kinds
    instructor.seek(600 * MS)
    instructor.editor.question.setText("Where is the lesion?")
    instructor.editor.kind.setCurrentIndex(kinds.index("imaging_target"))
    assert not instructor.editor._fov.isEnabled() and instructor.editor.tolerance.isEnabled()
    instructor.editor.add_button.click()
    (point,) = instructor.pause_points
    assert point.space == "patient" and point.t_ns == 600 * MS
    assert point.expert_target == pytest.approx(tuple(landmark))
    instructor.close_player()

    # a trainee: stopped at 0.6 s on the first view, answers with a click 3 mm to the right of it
    trainee, clock = _player(qtbot, folder, user="student.zhao")
    trainee.show()
    qtbot.waitExposed(trainee)
    _advance(trainee, clock, 2000 * MS)
    assert trainee.current_point is not None and trainee.position_ns == 600 * MS
    assert trainee.question.hint.text() == "Click where you would place the target on the imaging."
    assert trainee.imaging is not None
    view = trainee.imaging.panel.slice_view
    assert _shows(trainee, series, FIRST)
    aim = landmark + np.array([3.0, 0.0, 0.0])
    at = view.lps_to_widget(aim)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(at.x()), round(at.y())))
    (result,) = trainee.book.results("student.zhao")
    assert result.kind == "target" and result.correct and result.distance_mm is not None
    assert abs(result.distance_mm - 3.0) < 1.0  # a click lands on a pixel: 0.7 x 0.8 mm here
    assert "mm from the expert's target: well placed" in trainee.question.result.text()
    shown = sorted((a.text, a.kind) for a in trainee.document.in_space("patient"))
    assert ("Expert", "landmark") in shown and len(shown) == 2  # the answer and the expert, side by side
    if os.environ.get("TC_SHOTS"):  # the screenshot we look at, on request
        qtbot.wait(200)
        trainee.grab().save(str(shots / "pause-predict-imaging.png"))
    trainee.continue_after_question()
    assert all(a.text != "Expert" for a in trainee.document.in_space("patient"))  # the feedback is gone
    trainee.close_player()
    assert ScoreBook(folder / "scores.json").summary("student.zhao")["answered"] == 1


def test_the_imaging_view_is_the_composers(qtbot: Any, recorded: tuple[Path, SyntheticSeries],
                                           tmp_path: Path) -> None:
    """widgets never import viewers: without a factory the player shows no imaging (and offers no target
    on it); the case library hands the app's factory on to the players it opens."""
    from app.wiring.library import replay_imaging
    from core.config.roles import Role
    from widgets.case_library import QtCaseLibrary

    folder, _series = recorded
    bare = QtReplayPlayer(Recording.open(folder), clock=FakeClock(), media_wait_s=None, can_author=True)
    qtbot.addWidget(bare)
    assert bare.imaging is None and bare.findChild(QtReplayImaging) is None
    index = bare.editor.kind.findData("imaging_target")
    assert bare.editor.kind.view().isRowHidden(index)  # type: ignore[attr-defined]
    bare.close_player()

    library = CaseLibrary(tmp_path / "library")
    case = library.add_teaching_case(folder, b"site-salt")
    dialog = QtCaseLibrary(library, role=Role.TRAINEE, user="student.zhao", site_salt=b"site-salt",
                           imaging_factory=replay_imaging)
    qtbot.addWidget(dialog)
    player = dialog.open_case(case.folder)
    assert isinstance(player, QtReplayPlayer) and isinstance(player.imaging, QtReplayImaging)
    assert player.findChild(QtReplayImaging) is player.imaging  # laid out beside the video
    panel = player.imaging.panel
    qtbot.waitUntil(lambda: panel.load_result is not None and not panel.busy, timeout=20_000)
    player.close()
    dialog.close_library()
