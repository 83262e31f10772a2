"""The case library dialog: listing and search, a teaching file made off the UI thread, opening a case in
the player, what trainees may see, the empty library, and the Teaching menu of the main window."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMenu

from app.wiring.library import TEACHING_MENU, site_salt, wire_case_library
from core.config.roles import Role
from core.teaching.library import CaseLibrary, default_library_root
from core.teaching.scoring import PausePoint, load_pause_points, save_pause_points
from core.teaching.tracks import SessionRecorder
from tests.gui.test_replay_player import PATIENT, make_recording
from widgets.case_library import QtCaseLibrary
from widgets.replay_player import QtReplayPlayer

pytestmark = pytest.mark.gui

SALT = b"site-salt"
IDENTITY = re.compile(r"wang|(?<![a-z])min(?![a-z])|P-9(?!\d)", re.IGNORECASE)


@pytest.fixture(scope="module")
def base_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("library") / "rec")


@pytest.fixture
def library(base_recording: Path, tmp_path: Path) -> CaseLibrary:
    root = tmp_path / "library"
    shutil.copytree(base_recording, root / "rec-fast")
    other = SessionRecorder(root / "rec-echo", title="Pericardial effusion", specialty="cardiology",
                            tags=["echo"], patient=PATIENT, media=False)
    other.chat("effusion, no tamponade", "dr.chen")
    other.close()
    return CaseLibrary(root)


def _texts(dialog: QtCaseLibrary) -> list[list[str]]:
    table = dialog.table
    columns = range(table.columnCount())
    return [[item.text() if (item := table.item(r, c)) is not None else "" for c in columns]
            for r in range(table.rowCount())]


def _dialog(qtbot: Any, library: CaseLibrary, role: Role, user: str = "dr.chen") -> QtCaseLibrary:
    dialog = QtCaseLibrary(library, role=role, user=user, site_salt=SALT)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _select(dialog: QtCaseLibrary, title_part: str) -> None:
    row = next(i for i, case in enumerate(dialog.entries) if title_part in case.title)
    dialog.table.selectRow(row)


def test_search_make_teaching_file_and_open(qtbot: Any, library: CaseLibrary, shots: Path) -> None:
    dialog = _dialog(qtbot, library, Role.SPECIALIST)
    assert not dialog.note.isVisible()
    rows = _texts(dialog)
    assert len(rows) == 2 and {r[5] for r in rows} == {"Recording"}
    pseudonym = PATIENT.pseudonymised(SALT).name
    fast = next(r for r in rows if r[0].startswith("Pleural tap"))
    assert fast[2] == "00:03" and fast[3] == "emergency" and fast[4] == pseudonym  # never the real name
    # search: text, specialty, tag
    dialog.search.setText("pericardial")
    assert [r[0] for r in _texts(dialog)] == ["Pericardial effusion"]
    dialog.search.setText("marker placed")  # a chapter title
    assert [r[0] for r in _texts(dialog)] == ["Pleural tap, Wang Min"]
    dialog.search.clear()
    dialog.specialty.setCurrentIndex(dialog.specialty.findData("cardiology"))
    assert [r[0] for r in _texts(dialog)] == ["Pericardial effusion"]
    dialog.specialty.setCurrentIndex(0)
    dialog.tag.setCurrentIndex(dialog.tag.findData("procedure"))
    assert [r[0] for r in _texts(dialog)] == ["Pleural tap, Wang Min"]
    dialog.tag.setCurrentIndex(0)
    dialog.search.setText("nothing like this")
    assert dialog.table.rowCount() == 0 and dialog.empty.isVisible()
    assert dialog.empty.text() == "No case matches the search." and not dialog.open_button.isEnabled()
    dialog.search.clear()

    # the instructor's pause point on the recording names the patient: it travels pseudonymised
    raw = next(c for c in dialog.entries if c.title.startswith("Pleural tap"))
    save_pause_points(raw.folder, [PausePoint(t_ns=2_500_000_000, question="Which rhythm has Wang Min?",
                                              kind="rhythm", expert_rhythm="atrial_fibrillation")])
    # a teaching file, made on a worker thread while the dialog stays responsive
    _select(dialog, "Pleural tap")
    assert dialog.make_button.isVisible() and dialog.make_button.isEnabled()
    with qtbot.waitSignal(dialog.sig_case_made, timeout=60_000) as made:
        dialog.make_button.click()
        assert dialog.busy and dialog.progress.isVisible() and not dialog.make_button.isEnabled()
    case = made.args[0]
    assert not dialog.busy and not dialog.progress.isVisible()
    assert case.manifest.deidentified and not IDENTITY.search(case.title)
    [point] = load_pause_points(case.folder)
    assert point.question == f"Which rhythm has {pseudonym}?" and point.expert_rhythm == "atrial_fibrillation"
    rows = _texts(dialog)
    assert len(rows) == 3 and sorted(r[5] for r in rows) == ["Recording", "Recording", "Teaching file"]
    teaching = next(r for r in rows if r[5] == "Teaching file")
    assert teaching[4] == pseudonym and not any(IDENTITY.search(cell) for cell in teaching)
    selected = dialog.selected()
    assert selected is not None and selected.folder == case.folder
    assert not dialog.make_button.isEnabled()  # already de-identified
    assert dialog.grab().save(str(shots / "case-library.png"))

    # open it: a player window whose every track is pseudonymised
    player = dialog.open_selected()
    assert isinstance(player, QtReplayPlayer) and player.isWindow() and player.can_author
    assert not IDENTITY.search(player.header.text()) and pseudonym in player.header.text()
    player.seek(3000 * 1_000_000)
    chat = [player.chat.item(i).text() for i in range(player.chat.count())]
    assert len(chat) == 2 and not any(IDENTITY.search(line) for line in chat)
    assert player.frames_delivered > 0
    dialog.close()
    assert dialog.players == []
    dialog.close()


def test_trainee_sees_teaching_files_only(qtbot: Any, library: CaseLibrary) -> None:
    raw = library.search("pleural")[0]
    case = library.add_teaching_case(raw.folder, SALT)
    dialog = _dialog(qtbot, library, Role.TRAINEE, user="trainee.wu")
    assert dialog.note.isVisible() and dialog.note.text() == "Only de-identified teaching files are shown."
    rows = _texts(dialog)
    assert [r[5] for r in rows] == ["Teaching file"] and not any(IDENTITY.search(c) for c in rows[0])
    assert not dialog.make_button.isVisible() and dialog.make_button.isHidden()
    assert dialog.specialty.count() == 2  # "All" and the teaching file's: nothing from the raw recordings
    dialog.search.setText("pericardial")  # a raw recording: not found by a trainee's search either
    assert dialog.table.rowCount() == 0
    dialog.search.clear()
    assert dialog.make_teaching_file() is False
    # asking for a raw recording's folder directly is refused
    assert dialog.open_case(raw.folder) is None
    assert dialog.status.text() == "Trainees may open de-identified teaching files only."
    player = dialog.open_case(case.folder)
    assert isinstance(player, QtReplayPlayer) and player.user == "trainee.wu" and not player.can_author
    assert not player.editor.isVisibleTo(player)
    dialog.close()


def test_empty_library_and_a_broken_case(qtbot: Any, tmp_path: Path) -> None:
    library = CaseLibrary(tmp_path / "empty")
    dialog = _dialog(qtbot, library, Role.SPECIALIST)
    assert dialog.table.rowCount() == 0 and dialog.empty.isVisible()
    assert "The case library is empty" in dialog.empty.text()
    assert not dialog.open_button.isEnabled() and not dialog.make_button.isEnabled()
    assert dialog.open_selected() is None and dialog.make_teaching_file() is False
    broken = tmp_path / "empty" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}")
    assert dialog.open_case(broken) is None and "cannot be opened" in dialog.status.text()
    dialog.reload()
    assert dialog.table.rowCount() == 0  # listed among the library's problems, not as a case
    dialog.close()


def test_teaching_menu_opens_the_library(qtbot: Any, make_workstation: Any, base_recording: Path) -> None:
    window = make_workstation(Role.SPECIALIST, demo=True)
    wire_case_library(window, None)
    menu = window.menuBar().findChild(QMenu, TEACHING_MENU)
    assert menu is not None and menu.title() == "&Teaching"
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles.index("&Teaching") == titles.index("&Help") - 1
    action = next(a for a in menu.actions() if a.objectName() == "caseLibraryAction")
    assert action.text() == "Case library…"
    action.trigger()  # demo mode with nothing recorded yet: an empty library, no error
    dialog = window.case_library
    assert isinstance(dialog, QtCaseLibrary) and dialog.isVisible() and dialog.table.rowCount() == 0
    root = default_library_root(window.ws.paths.data_dir)
    assert dialog.library.root == root and root.is_dir()
    dialog.close()
    shutil.copytree(base_recording, root / "rec-1")
    action.trigger()
    dialog = window.case_library
    assert dialog.table.rowCount() == 1
    window.close()
    assert not dialog.players and QApplication.activeModalWidget() is None


def test_site_salt_is_the_trainees_pseudonym_salt(make_workstation: Any) -> None:
    specialist = make_workstation(Role.SPECIALIST)
    trainee = make_workstation(Role.TRAINEE)
    assert specialist.ws.pseudonym_salt is None
    assert site_salt(specialist.ws) == site_salt(trainee.ws) == trainee.ws.pseudonym_salt
