"""The live class UI at the three sites (issue 11): the instructor's class strip, the trainee's live
sessions, banner and tools, the bedside's recording indicator and scenario switching
(widgets/class_strip.py, widgets/trainee_follow.py, app/wiring/classroom.py); and end to end on the real
backend: a specialist in a call with the demo bedside and a trainee workstation following."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.wiring.annotations import document_for
from app.wiring.classroom import BedsideClass, InstructorClass, TraineeClass
from app.workstation import Composed
from core.config.roles import PanelId, Role
from core.teaching.live import ClassViewer, TraineeControl
from core.worklist.model import ConsultItem
from tests.helpers import compose_workstation, free_port
from widgets.annotation_overlay import Tool
from widgets.call_panel import QtCallPanel
from widgets.class_strip import QtClassStrip, QtRecIndicator
from widgets.trainee_follow import QtTraineeBanner, QtTraineeFollow

pytestmark = pytest.mark.gui


def _consult(consult_id: int, state: str, name: str = "Patient 3F2A9C01") -> ConsultItem:
    return ConsultItem.from_json(
        {
            "id": consult_id,
            "state": state,
            "patient": {"patient_id": "ANON-3F2A9C01", "name": name, "sex": "F"},
            "question": "Pericardial effusion, guide a pericardiocentesis",
            "specialty": "ultrasound",
            "accepted_by": {"username": "dr.chen", "display_name": "Dr. Chen Jing"},
        },
        time.monotonic(),
    )


def _call_panel(made: Composed) -> QtCallPanel:
    panel = made.window.docks[PanelId.CONSULTATION].widget()
    assert isinstance(panel, QtCallPanel)
    return panel


def _part(panel: QtCallPanel, kind: type) -> Any:
    found = [c for c in panel.children() if isinstance(c, kind)]
    assert len(found) == 1, f"one {kind.__name__} expected on the panel, found {found}"
    return found[0]


@pytest.fixture
def offline(qtbot) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Composed workstations with no backend started (the widgets and wiring alone)."""
    made: list[Composed] = []

    def make(role: Role, site: dict[str, object] | None = None, demo: bool = False) -> Composed:
        composed: Composed = compose_workstation(qtbot, role, site or {}, demo=demo)  # type: ignore[assignment]
        composed.window.resize(1400, 900)
        composed.window.show()
        made.append(composed)
        return composed

    yield make
    for composed in made:
        composed.window.close()
        composed.shutdown()


# widgets alone ----------------------------------------------------------------------------------
def test_class_strip_lists_trainees_and_emits_what_the_instructor_asks(qtbot) -> None:  # type: ignore[no-untyped-def]
    strip = QtClassStrip()
    qtbot.addWidget(strip)
    strip.show()
    assert strip.title.text() == "Class: no trainees following" and not strip.rows
    assert not strip.chapter_button.isVisible() and strip.record_button.text() == "Record"
    strip.set_viewers([ClassViewer("m1", "student.zhao", None, True), ClassViewer("m2", "student.qian")])
    assert strip.title.text() == "Class: 2 trainees following"
    row = strip.rows["m1"]
    assert row.name.text() == "● student.zhao" and row.holds.text() == "view only"
    assert strip.rows["m2"].name.text() == "○ student.qian"
    assert row.pointer.isEnabled() and row.annotate.isEnabled() and not row.take_back.isEnabled()

    asked: list[tuple[str, ...]] = []
    strip.sig_grant.connect(lambda member, tool: asked.append(("grant", member, tool)))
    strip.sig_take_back.connect(lambda member: asked.append(("take_back", member)))
    strip.sig_record.connect(lambda on: asked.append(("record", str(on))))
    strip.sig_chapter.connect(lambda: asked.append(("chapter",)))
    strip.sig_scenario.connect(lambda name: asked.append(("scenario", name)))
    row.annotate.click()
    strip.set_viewers([ClassViewer("m1", "student.zhao", "annotate", True)])  # the model answered
    assert strip.rows["m1"] is row and "m2" not in strip.rows  # the row is kept, the leaver removed
    assert row.holds.text() == "has the annotation tools"
    assert not row.annotate.isEnabled() and row.take_back.isEnabled()
    row.take_back.click()
    strip.record_button.click()
    assert asked == [("grant", "m1", "annotate"), ("take_back", "m1"), ("record", "True")]

    strip.set_recording(True, time.monotonic() - 65)
    assert strip.rec.isVisible() and strip.rec.text() == "● REC 01:05"
    assert strip.chapter_button.isVisible() and strip.record_button.text() == "Stop recording"
    strip.chapter_button.click()
    strip._fill_scenarios()
    actions = strip.scenario_menu.actions()
    assert len(actions) == 9 and actions[0].text() == "Normal sinus rhythm"
    actions[7].trigger()  # asystole
    assert asked[-2:] == [("chapter",), ("scenario", "asystole")] and strip.scenario == "asystole"
    strip.set_recording(False)
    assert not strip.rec.isVisible() and not strip.chapter_button.isVisible()
    strip.close_strip()
    strip.close_strip()


def test_trainee_follow_lists_only_live_sessions_and_the_banner_says_what_they_may_do(qtbot) -> None:  # type: ignore[no-untyped-def]
    follow = QtTraineeFollow()
    qtbot.addWidget(follow)
    follow.show()
    follow.set_sessions([])
    assert follow.empty.isVisible() and not follow.sessions.isVisible()
    assert not follow.follow_button.isEnabled() and not follow.stop_button.isVisible()
    follow.set_sessions([_consult(1, "closed"), _consult(2, "in_session"), _consult(3, "accepted")])
    assert follow.sessions.count() == 1 and follow.selected() == 2
    text = follow.sessions.item(0).text()
    assert text.startswith("Patient 3F2A9C01 - Pericardial") and "ultrasound, with Dr. Chen Jing" in text
    chosen: list[int] = []
    follow.sig_follow.connect(chosen.append)
    follow.follow_button.click()
    follow.set_following(2)
    assert chosen == [2] and follow.sessions.item(0).text().startswith("▶ ")
    assert not follow.follow_button.isEnabled() and follow.stop_button.isVisible()

    banner = QtTraineeBanner()
    qtbot.addWidget(banner)
    banner.set_state("Dr. Chen Jing", None, False)
    assert banner.text.text() == "Following Dr. Chen Jing — view only" and not banner.rec.recording
    banner.set_state("Dr. Chen Jing", "pointer", True)
    assert banner.text.text() == "Following Dr. Chen Jing — you have the pointer tool"
    assert banner.rec.recording and banner.rec.text() == "● REC"
    banner.set_state("Dr. Chen Jing", "annotate", False)
    assert banner.text.text().endswith("you have the annotation tools") and not banner.rec.recording


# the wiring of each site, without a call -----------------------------------------------------------
class _FakeViewer:
    """What TraineeClass reads of a ViewerSession: the flag and the control model (events on any thread)."""

    viewer = True

    def __init__(self) -> None:
        self.control = TraineeControl()


def test_trainee_tools_are_view_only_until_handed_over_and_taken_back_at_once(offline, qtbot) -> None:  # type: ignore[no-untyped-def]
    made = offline(Role.TRAINEE)
    panel = _call_panel(made)
    trainee = _part(panel, TraineeClass)
    toolbar = panel.annotation_toolbar
    assert toolbar is not None and panel.receive_only
    assert not panel.mute_button.isVisible() and not panel.camera_button.isVisible()
    enabled = lambda: {t for t, b in toolbar.tool_buttons.items() if b.isEnabled()}  # noqa: E731
    assert enabled() == {Tool.NONE} and not toolbar.undo_button.isVisible()

    session = _FakeViewer()
    trainee._attach(session)  # as the controller's hooks do with each new session
    trainee.following = 7
    session.control.apply("grant", {"tool": "pointer"})
    qtbot.waitUntil(lambda: trainee.tool == "pointer", timeout=5000)
    assert enabled() == {Tool.NONE, Tool.POINTER} and not toolbar.clear_button.isVisible()
    assert trainee.banner.text.text() == "Following the instructor — you have the pointer tool"
    session.control.apply("grant", {"tool": "annotate"})
    qtbot.waitUntil(lambda: trainee.tool == "annotate", timeout=5000)
    assert enabled() == set(Tool) and toolbar.undo_button.isVisible()
    assert not toolbar.freeze_button.isVisible()  # freezing the picture is never a trainee's
    toolbar.select(Tool.ARROW)
    assert panel.overlay is not None and panel.overlay.tool is Tool.ARROW
    session.control.apply("recording", {"on": True})
    qtbot.waitUntil(lambda: trainee.banner.rec.isVisible(), timeout=5000)
    session.control.apply("take_back", {})
    qtbot.waitUntil(lambda: trainee.tool is None, timeout=5000)
    assert panel.overlay.tool is Tool.NONE and enabled() == {Tool.NONE}  # the arrow in hand is dropped
    assert trainee.banner.text.text().endswith("view only") and trainee.banner.rec.text() == "● REC"

    # the host's refusals are explained; a bedside's refusal forwarded to the class is not the trainee's
    session.control.apply("refused", {"reason": "unknown scenario 'x'"})
    session.control.apply("refused", {"reason": "no_tool"})
    qtbot.waitUntil(lambda: not panel.error_label.isHidden(), timeout=5000)
    assert panel.error_label.text() == "View only: the instructor has not handed you a tool."


def test_bedside_shows_rec_and_switches_only_its_simulator(offline, qtbot) -> None:  # type: ignore[no-untyped-def]
    from core.vitals.simulator import Scenario
    from widgets.deferred_panel import QtDeferredPanel

    made = offline(Role.COUNTY_DOCTOR, demo=True)  # the demo bedside's monitor is the simulator
    panel = _call_panel(made)
    bedside = _part(panel, BedsideClass)
    deferred = made.window.docks[PanelId.VITALS].widget()
    assert isinstance(deferred, QtDeferredPanel)
    qtbot.waitUntil(lambda: deferred.built, timeout=10_000)
    vitals = deferred.content
    assert vitals.simulator is not None and vitals.simulator.scenario is Scenario.HYPOTENSION
    assert bedside.switch_scenario("asystole") is None
    assert vitals.simulator.scenario is Scenario.ASYSTOLE and vitals.scenario.currentData() == "asystole"
    assert "unknown scenario" in (bedside.switch_scenario("<script>") or "")
    assert isinstance(bedside.rec, QtRecIndicator) and not bedside.rec.isVisible()
    from rtc.channels import ChannelMessage, make_envelope

    def control(action: str, args: dict[str, Any]) -> ChannelMessage:
        body = {"action": action, "args": args}
        return ChannelMessage("control", envelope=make_envelope("control", action, body, 1))

    panel.controller.sig_message.emit(control("recording", {"on": True}))  # as the instructor sends it
    assert bedside.rec.isVisible() and bedside.rec.text() == "● REC"
    panel.controller.sig_message.emit(control("scenario", {"name": "desaturation"}))
    assert vitals.simulator.scenario is Scenario.DESATURATION
    panel.controller.sig_message.emit(control("recording", {"on": False}))
    assert not bedside.rec.isVisible()

    # The site file takes ports 1-65535 only (no 0), so this one is picked free beforehand; whether the
    # listener gets it or not, the monitor feed is what is on screen and no simulator is switched.
    port = free_port()
    real = offline(Role.COUNTY_DOCTOR, {"vitals": {"hl7_port": port}})  # a real monitor over HL7
    real_bedside = _part(_call_panel(real), BedsideClass)
    real_deferred = real.window.docks[PanelId.VITALS].widget()
    qtbot.waitUntil(lambda: real_deferred.built, timeout=10_000)
    refusal = real_bedside.switch_scenario("asystole")
    assert refusal is not None and "never replaced" in refusal
    assert real_deferred.content.simulator is None  # the monitor feed is untouched


def test_instructor_strip_waits_for_a_call(offline) -> None:  # type: ignore[no-untyped-def]
    made = offline(Role.SPECIALIST)
    panel = _call_panel(made)
    instructor = _part(panel, InstructorClass)
    assert not instructor.strip.isVisible()  # no call: no class
    instructor.set_recording(True)  # nothing to record yet
    assert instructor.recorder is None and not instructor.strip.recording
    assert "nothing to record" in instructor.strip.message.text()
    instructor.close()
    instructor.close()


# end to end on the real backend --------------------------------------------------------------------
def _drag(widget: Any, start: Any, end: Any) -> None:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    def send(kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        modifiers = Qt.KeyboardModifier.NoModifier
        event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, modifiers)
        QApplication.sendEvent(widget, event)

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send(QEvent.Type.MouseButtonPress, start, left, left)
    middle = QPointF((start.x() + end.x()) / 2, (start.y() + end.y()) / 2)
    send(QEvent.Type.MouseMove, middle, none, left)
    send(QEvent.Type.MouseMove, end, none, left)
    send(QEvent.Type.MouseButtonRelease, end, left, none)


def test_a_trainee_follows_a_demo_call_is_handed_the_tools_and_sees_the_recording(  # type: ignore[no-untyped-def]
    server, qtbot, tmp_path, shots
) -> None:
    from PySide6.QtCore import QPointF

    from app.demo import LIVE_REQUEST, DemoBedside
    from core.client.backend import BackendClient
    from core.teaching.tracks import Manifest

    base = server.base_url
    specialist: Composed = compose_workstation(
        qtbot, Role.SPECIALIST, {"backend": {"url": base}}, demo=True
    )  # type: ignore[assignment]
    trainee: Composed = compose_workstation(qtbot, Role.TRAINEE, {"backend": {"url": base}})  # type: ignore[assignment]
    try:
        for made in (specialist, trainee):
            made.window.resize(1400, 900)
            made.window.show()
        link, panel = specialist.link, _call_panel(specialist)
        instructor = _part(panel, InstructorClass)
        link.start()  # demo: dr.chen signs in, the simulated county doctor sends her request
        qtbot.waitUntil(lambda: link.sign_in_state.user is not None, timeout=15_000)
        # Not accepted yet, the request is a summary without the patient's identity: found by its question.
        live = LIVE_REQUEST["question"]
        listed = lambda: any(i.question == live for i in link.worklist.items)  # noqa: E731
        qtbot.waitUntil(listed, timeout=30_000)
        consult_id = next(i.id for i in link.worklist.items if i.question == live)
        link.transition(consult_id, "accept")  # demo: the call starts, the bedside joins
        qtbot.waitUntil(lambda: panel.state == "connected", timeout=40_000)
        link.transition(consult_id, "start")  # in session: trainees of the specialty may follow
        qtbot.waitUntil(lambda: instructor.strip.isVisible(), timeout=5_000)
        wiring = next(c for c in panel.children() if hasattr(c, "bedside"))
        bedside: DemoBedside = wiring.bedside

        # the trainee signs in, sees the live session (pseudonymised) and follows it
        tlink, tpanel = trainee.link, _call_panel(trainee)
        follower = _part(tpanel, TraineeClass)
        tlink.start()
        qtbot.waitUntil(lambda: tlink.client is not None, timeout=10_000)
        tlink.sign_in("student.zhao", "demo")
        qtbot.waitUntil(lambda: follower.follow.sessions.count() == 1, timeout=20_000)
        title = follower.follow.sessions.item(0).text()
        assert "Liu Fang" not in title and title.startswith("Patient ")
        follower.follow.follow_button.click()
        qtbot.waitUntil(lambda: tpanel.state == "connected", timeout=40_000)
        qtbot.waitUntil(lambda: tpanel.remote_view.frames_shown >= 5, timeout=30_000)  # the bedside's video
        assert follower.banner.isVisible() and follower.banner.text.text().endswith("view only")
        toolbar = tpanel.annotation_toolbar
        assert toolbar is not None
        assert {t for t, b in toolbar.tool_buttons.items() if b.isEnabled()} == {Tool.NONE}

        # the instructor sees the trainee and hands over the annotation tools
        qtbot.waitUntil(lambda: len(instructor.strip.rows) == 1, timeout=20_000)
        row = next(iter(instructor.strip.rows.values()))
        assert "student.zhao" in row.name.text()
        row.annotate.click()
        qtbot.waitUntil(lambda: follower.tool == "annotate", timeout=15_000)
        assert toolbar.tool_buttons[Tool.ARROW].isEnabled()
        assert follower.banner.text.text().endswith("you have the annotation tools")

        # the trainee draws an arrow on the video: it lands in the specialist's document
        toolbar.tool_buttons[Tool.ARROW].click()
        overlay = tpanel.overlay
        assert overlay is not None
        rect = overlay.picture_rect()
        assert rect.width() > 50
        _drag(overlay, QPointF(rect.left() + rect.width() * 0.3, rect.top() + rect.height() * 0.3),
              QPointF(rect.left() + rect.width() * 0.6, rect.top() + rect.height() * 0.6))
        arrows = lambda doc: [a for a in doc.in_space("video") if a.kind == "arrow"]  # noqa: E731
        assert len(arrows(document_for(tlink))) == 1
        qtbot.waitUntil(lambda: len(arrows(document_for(link))) == 1, timeout=15_000)
        arrow = arrows(document_for(link))[0]
        assert arrow.author == "student.zhao"

        async def ask(what: str) -> Any:
            client = BackendClient(base)
            await client.login("dr.chen", "demo")
            try:
                if what == "recording":
                    return await client.recording(consult_id)
                return await client.items("annotations", consult_id)
            finally:
                await client.aclose()

        def record() -> list[dict[str, Any]]:
            result: list[dict[str, Any]] = asyncio.run(ask("annotations"))
            return result

        kept = lambda: any(r["op"].get("id") == arrow.id for r in record())  # noqa: E731
        qtbot.waitUntil(kept, timeout=20_000)  # the trainee's arrow is in the consult's record

        # take back: the tools are disabled again at once
        qtbot.waitUntil(lambda: row.take_back.isEnabled(), timeout=5_000)
        row.take_back.click()
        qtbot.waitUntil(lambda: follower.tool is None, timeout=15_000)
        assert overlay.tool is Tool.NONE and not toolbar.tool_buttons[Tool.ARROW].isEnabled()

        # record: "● REC" at the trainee and the bedside; the class scenario reaches the bedside. The
        # specialist leads the imaging view (Follow me), so the study and the view states are recorded too
        from viewers.imaging_panel import QtImagingPanel
        from viewers.view_mirror_qt import QtViewMirror

        imaging = specialist.window.findChild(QtImagingPanel)
        assert imaging is not None
        # Liu Fang's consult has no CT of its own (the demo's CT is Zhang Wei's): the specialist opens
        # a study of hers from a folder, which the patient context lets through.
        from viewers.dicom.synthetic import write_ct_series

        hers = write_ct_series(tmp_path / "liu", (12, 64, 64), patient_name="Liu^Fang",
                               patient_id="US-2026-0107", patient_birth_date="19580902")  # fmt: skip
        imaging.load_paths([hers.paths[0].parent])
        qtbot.waitUntil(lambda: imaging.series is not None and not imaging.busy, timeout=60_000)
        mirror = imaging.findChild(QtViewMirror)
        assert mirror is not None and mirror.act_follow.isEnabled()
        mirror.act_follow.trigger()
        instructor.strip.record_button.click()
        assert instructor.recorder is not None and instructor.strip.rec.text().startswith("● REC 00:0")
        qtbot.waitUntil(lambda: follower.banner.rec.isVisible(), timeout=15_000)
        qtbot.waitUntil(lambda: bedside.recording, timeout=15_000)
        qtbot.waitUntil(lambda: asyncio.run(ask("recording"))["on"] is True, timeout=10_000)  # the backend
        instructor.strip.choose_scenario("atrial_fibrillation")
        qtbot.waitUntil(lambda: bedside.scenario == "atrial_fibrillation", timeout=15_000)
        instructor.send_scenario("no_such_rhythm")  # what the bedside refuses, the instructor reads
        qtbot.waitUntil(lambda: "The bedside refused" in instructor.strip.message.text(), timeout=15_000)
        assert "no_such_rhythm" in instructor.strip.message.text()
        assert bedside.scenario == "atrial_fibrillation"
        assert "scenario" not in tpanel.error_label.text()  # the bedside's refusal is not the trainee's
        instructor.strip.chapter_button.click()
        panel.controller.send("chat", "message", {"text": "Note the effusion", "author": "Dr. Chen Jing"})
        qtbot.wait(1500)  # a little of everything in the recording
        if os.environ.get("TC_SHOTS"):  # the screenshots we look at, on request
            trainee.window.grab().save(str(shots / "trainee-view.png"))
            panel.grab().save(str(shots / "instructor-class.png"))
        instructor.strip.record_button.click()
        assert not instructor.strip.rec.isVisible()
        qtbot.waitUntil(lambda: instructor.last_recording is not None, timeout=30_000)
        folder = instructor.last_recording
        assert folder is not None and folder.parent == specialist.window.ws.paths.data_dir / "recordings"
        manifest = Manifest.read(folder)
        assert [c.title for c in manifest.chapters] == ["Chapter 1"] and manifest.duration_s > 1.0
        assert manifest.media.video_frames > 0 and (folder / "media.mkv").stat().st_size > 0
        assert manifest.tracks["vitals"].events > 0  # the bedside's monitor, on the recording's clock
        assert manifest.imaging == "imaging" and manifest.tracks["views"].events >= 1
        assert imaging.discovery is not None
        held = sum(len(s.instances) for s in imaging.discovery.all_series())
        assert len(list((folder / "imaging").iterdir())) == held > 0  # the whole study travels with it
        from core.teaching.replay import Recording
        from viewers.replay_imaging import QtReplayImaging
        from widgets.replay_player import QtReplayPlayer

        player = QtReplayPlayer(Recording.open(folder), can_author=True,  # replayed: the view as it was
                                imaging_factory=QtReplayImaging)
        qtbot.addWidget(player)
        assert isinstance(player.imaging, QtReplayImaging)
        replayed = player.imaging
        loaded = lambda: replayed.panel.load_result is not None and not replayed.panel.busy  # noqa: E731
        qtbot.waitUntil(loaded, timeout=60_000)
        player.seek(player.recording.duration_ns)
        assert replayed.states_applied >= 1 and replayed.state is not None
        assert replayed.state.series_uid == imaging.series.series_instance_uid  # type: ignore[union-attr]
        assert replayed.panel.slice_view.index == imaging.slice_view.index
        player.close_player()
        chat = (folder / "chat.jsonl").read_text(encoding="utf-8")
        assert manifest.tracks["chat"].events >= 1 and "Note the effusion" in chat  # what this side said
        qtbot.waitUntil(lambda: not follower.banner.rec.isVisible(), timeout=15_000)
        qtbot.waitUntil(lambda: not bedside.recording, timeout=15_000)
        qtbot.waitUntil(lambda: asyncio.run(ask("recording"))["on"] is False, timeout=10_000)

        # stop following
        follower.follow.stop_button.click()
        qtbot.waitUntil(lambda: tpanel.state == "ended", timeout=15_000)
        assert not follower.banner.isVisible()
    finally:
        for made in (trainee, specialist):
            made.window.close()
            made.shutdown()
