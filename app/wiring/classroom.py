"""Wiring of the live class (issue 11) at the three sites, onto the consultation panel.

``attach_class(window, link, panel)`` is called by app/wiring/call.py's panel factory and picks the
site's part by role:

- the instructor (specialist in a call): :class:`InstructorClass`. A :class:`rtc.classroom.ClassHost`
  rides on every call session (``link.call_session_hooks``) and serves the trainees who follow, under
  the class's rules (core/teaching/class_policy.py ClassRules over the strip's ClassModel: the
  transport and the rules meet here, and nowhere below); the class strip (widgets/class_strip.py)
  hands tools over and takes them back, records the session (core/teaching/tracks.py SessionRecorder
  into ``recordings_dir``), adds chapters, and drives the bedside's vitals simulator.
- the trainee: :class:`TraineeClass`. The panel lists the live sessions to follow
  (widgets/trainee_follow.py); following runs an :class:`rtc.class_viewer.ViewerSession` (its control
  a core.teaching.live.TraineeControl) through the same controller, so the call hooks (vitals,
  annotations, view mirroring) attach as for a call. The annotation tools stay disabled until the
  instructor hands one over.
- the bedside (county doctor): :class:`BedsideClass`. "● REC" while the instructor records; the
  instructor's scenario switches the bedside simulator, never a real monitor (that is refused).

Model events of the class fire on the rtc loop; everything here hops to the UI thread through the
link's bridge first. aiortc (rtc.classroom, rtc.class_viewer) is imported on the loop when a call starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.wiring.annotations import document_for
from core.config.roles import PanelId, Role
from core.i18n import tr
from widgets.call_controller import CONNECTED, CONNECTING, ENDED, RECONNECTING

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from app.services import BackendLink
    from core.consult.patient import Patient
    from core.teaching.live import ClassModel
    from core.teaching.tracks import SessionRecorder
    from rtc.channels import ChannelMessage
    from widgets.call_panel import QtCallPanel

log = logging.getLogger(__name__)

RECORDINGS = "recordings"
IN_CALL = (CONNECTING, CONNECTED, RECONNECTING)


def recordings_dir(window: MainWindow) -> Path:
    """Where the instructor's recordings go: ``<data dir>/recordings`` (the case library's root)."""
    return window.ws.paths.data_dir / RECORDINGS


def control_body(action: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, "args": args}


def control_of(message: ChannelMessage) -> tuple[str, dict[str, Any]] | None:
    """(action, args) of a control message, None for anything else."""
    envelope = message.envelope
    if message.channel != "control" or envelope is None:
        return None
    args = envelope.body.get("args", {})
    return str(envelope.body.get("action", "")), args if isinstance(args, dict) else {}


def identity_scrubber(patient: Callable[[], Patient | None], site_name: str) -> Callable[[str], str]:
    """Replaces the current patient's identity with the site pseudonym in any text (the class host's
    defence in depth: what trainees receive never names the patient). Cached per patient."""
    salt = hashlib.sha256(f"teleconsult-pseudonym:{site_name}".encode()).digest()
    cache: dict[Patient, Callable[[str], str]] = {}

    def replace(text: str) -> str:
        current = patient()
        if current is None:
            return text
        rule = cache.get(current)
        if rule is None:
            from core.teaching.library import identity_replacer

            cache.clear()
            rule = cache[current] = identity_replacer(current, current.pseudonymised(salt))
        return rule(text)

    return replace


def attach_class(window: MainWindow, link: BackendLink, panel: QtCallPanel) -> QObject | None:
    """The live class part of this site, owned by the panel (None for roles without one)."""
    role = window.ws.role
    if role is Role.SPECIALIST:
        return InstructorClass(window, link, panel)
    if role is Role.TRAINEE:
        return TraineeClass(window, link, panel)
    if role is Role.COUNTY_DOCTOR:
        return BedsideClass(window, link, panel)
    return None


# the instructor ----------------------------------------------------------------------------------
class InstructorClass(QObject):
    def __init__(self, window: MainWindow, link: BackendLink, panel: QtCallPanel) -> None:
        super().__init__(panel)
        from core.teaching.live import ClassModel
        from widgets.class_strip import QtClassStrip

        self.window, self.link, self.panel = window, link, panel
        self.controller = panel.controller
        self.model: ClassModel = ClassModel()
        self.host: Any = None  # rtc.classroom.ClassHost, made on the loop with the first call
        self.session: Any = None  # the instructor's current CallSession (set on the loop)
        self.recorder: SessionRecorder | None = None
        self.recording_started: float | None = None
        self.last_recording: Path | None = None
        self.chapters = 0
        self._closed = False
        self.strip = QtClassStrip()
        self.strip.hide()
        panel.add_strip(self.strip)
        self.scrub = identity_scrubber(lambda: window.ws.context.patient, window.ws.site.site_name)
        self.model.changed.connect(lambda: link.bridge.post(self._show_viewers))
        link.call_session_hooks.append(self._attach)
        self.strip.sig_grant.connect(self.grant)
        self.strip.sig_take_back.connect(self.take_back)
        self.strip.sig_record.connect(self.set_recording)
        self.strip.sig_chapter.connect(self.add_chapter)
        self.strip.sig_scenario.connect(self.send_scenario)
        self.controller.sig_state.connect(self._on_state)
        self.controller.sig_message.connect(self._on_message)
        window.sig_closed.connect(self.close)

    # on the rtc loop ---------------------------------------------------------------------------
    def _attach(self, session: Any) -> None:
        if getattr(session, "viewer", False) or self._closed:
            return
        if self.host is None:
            from core.teaching.class_policy import ClassRules
            from rtc.classroom import ClassHost

            janus_url = self.window.ws.site.teaching.janus_url or None  # a class through the SFU
            rules = ClassRules(self.model)
            ice = self.window.ws.site.rtc_ice_servers()
            self.host = ClassHost(rules, ice, self.scrub, janus_url=janus_url)
        self.session = session
        self.host.attach(session)
        session.message_received.connect(self._keep_trainee_op)
        sent = getattr(session, "message_sent", None)
        if sent is not None:
            sent.connect(self._record_sent)
        recorder = self.recorder
        if recorder is not None:  # a new session of a call being recorded (a reconnection)
            recorder.attach_session(session)
            session.send("control", "recording", control_body("recording", {"on": True}))

    def _record_sent(self, message: ChannelMessage) -> None:
        """What this side sends beside its annotations (its view states, chat) goes into the recording
        too: the recorder hears the session's received messages and the document's local operations."""
        recorder, envelope = self.recorder, message.envelope
        if recorder is None or envelope is None:
            return
        body = envelope.body
        if message.channel == "control" and body.get("action") == "view_state":
            args = body.get("args")
            if isinstance(args, dict):
                recorder.view_state(args, "local")
        elif message.channel == "chat":
            recorder.chat(str(body.get("text", "")), str(body.get("author", "")), "local")

    def _keep_trainee_op(self, message: ChannelMessage) -> None:
        """A trainee's accepted annotation reaches this session as if the bedside sent it; nobody else
        keeps it in the consult's record (the backend takes no writes from trainees), so this side does."""
        envelope = message.envelope
        if message.channel != "annotations" or envelope is None:
            return
        body = envelope.body
        trainees = {viewer.username for viewer in self.model.viewers}
        if body.get("op") in ("add", "update", "delete", "clear") and body.get("author") in trainees:
            self.link.post_annotation(dict(body))

    # UI thread ---------------------------------------------------------------------------------
    def _show_viewers(self) -> None:
        self.strip.set_viewers(self.model.viewers)

    def _on_state(self, state: str) -> None:
        self.strip.setVisible(state in IN_CALL)
        if state == ENDED and self.recorder is not None:
            self.set_recording(False)

    def _on_message(self, message: ChannelMessage) -> None:
        control = control_of(message)
        if control is not None and control[0] == "refused":
            reason = str(control[1].get("reason", ""))
            self.strip.show_message(tr("ClassStrip", "The bedside refused: %1").replace("%1", reason))

    def grant(self, member_id: str, tool: str) -> None:
        from core.teaching.live import GRANT

        if self.host is not None:
            self.host.send_control(member_id, GRANT, {"tool": tool})

    def take_back(self, member_id: str) -> None:
        from core.teaching.live import TAKE_BACK

        if self.host is not None:
            self.host.send_control(member_id, TAKE_BACK, {})

    def send_scenario(self, name: str) -> None:
        if self.controller.send("control", "scenario", control_body("scenario", {"name": name})):
            self.strip.show_message(None)
        else:
            self.strip.show_message(tr("ClassStrip", "Not in a call: the scenario was not sent."))

    def set_recording(self, on: bool) -> None:
        if on and self.recorder is None:
            self._start_recording()
        elif not on and self.recorder is not None:
            self._stop_recording()
        self.strip.set_recording(self.recorder is not None, self.recording_started)

    def _start_recording(self) -> None:
        from core.teaching.tracks import SessionRecorder

        session, consult_id = self.session, self.link.conversation.consult_id
        if session is None or self.controller.state not in IN_CALL:
            self.strip.show_message(tr("ClassStrip", "Not in a call: there is nothing to record."))
            return
        item = self.link.worklist.get(consult_id) if consult_id is not None else None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = recordings_dir(self.window) / f"{stamp}-consult-{consult_id or 0}"
        try:
            recorder = SessionRecorder(
                folder,
                title=self.link.conversation.title,
                specialty=item.specialty if item is not None else "",
                patient=self.window.ws.context.patient,
                fps=self.controller.fps,
            )
        except OSError as exc:
            self.strip.show_message(tr("ClassStrip", "Cannot record: %1").replace("%1", str(exc)))
            return
        self.recorder, self.recording_started, self.chapters = recorder, time.monotonic(), 0
        recorder.attach_document(document_for(self.link))
        study = self._study_files()
        if study:  # the study travels with the recording, for replay and teaching files
            recorder.add_imaging_in_background(study)
            view = self._current_view()
            if view is not None:  # replay opens on the view as it is now; changes follow as they are sent
                recorder.view_state(view, "local")
        loop = self.link.runtime.loop
        loop.call_soon_threadsafe(recorder.attach_session, session)
        self._announce(True, consult_id)
        self.strip.show_message(None)
        log.info("class: recording into %s", folder)

    def _study_files(self) -> list[Path]:
        """The files of the study open in this window's imaging panel (all its series), if one is open."""
        from viewers.imaging_panel import QtImagingPanel

        panel = self.window.findChild(QtImagingPanel)
        series = panel.series if panel is not None else None
        if panel is None or series is None:
            return []
        studies = [st for p in panel.discovery.patients for st in p.studies] if panel.discovery else []
        uid = series.series_instance_uid
        study = next((st for st in studies if any(s.series_instance_uid == uid for s in st.series)), None)
        in_study = study.series if study is not None else [series]
        return list(dict.fromkeys(instance.path for s in in_study for instance in s.instances))

    def _current_view(self) -> dict[str, Any] | None:
        """This window's imaging view as a view state (JSON), if a study is open."""
        from viewers.view_mirror_qt import QtViewMirror

        adapter = self.window.findChild(QtViewMirror)
        try:
            state = adapter.capture() if adapter is not None else None
        except ValueError as exc:  # UIDs that are not valid DICOM UIDs: nothing to replay the view on
            log.info("class: the imaging view is not recorded: %s", exc)
            return None
        return state.model_dump(mode="json") if state is not None else None

    def _stop_recording(self) -> None:
        recorder, self.recorder, self.recording_started = self.recorder, None, None
        assert recorder is not None
        self._announce(False, self.link.conversation.consult_id)

        async def finish() -> Path:
            await asyncio.to_thread(recorder.close)  # waits for the encoder: off the loop
            return recorder.folder

        def done(folder: Path) -> None:
            self.last_recording = folder
            self.strip.show_message(tr("ClassStrip", "Recording saved: %1").replace("%1", folder.name))

        self.link.bridge.call(finish(), done, lambda e: self.strip.show_message(str(e) or type(e).__name__))

    def _announce(self, on: bool, consult_id: int | None) -> None:
        """The recording indicator at every site: bedside (control), trainees (host), backend."""
        self.controller.send("control", "recording", control_body("recording", {"on": on}))
        if self.host is not None:
            self.host.broadcast_control("recording", {"on": on})
        client = self.link.client
        set_recording = getattr(client, "set_recording", None)
        if set_recording is not None and consult_id is not None:
            self.link.bridge.call(
                set_recording(consult_id, on),
                None,
                lambda e: log.warning("class: the backend did not note the recording: %s", e),
            )

    def add_chapter(self) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        self.chapters += 1
        chapter = recorder.add_chapter(tr("ClassStrip", "Chapter %1").replace("%1", str(self.chapters)))
        from widgets.class_strip import format_elapsed

        self.strip.show_message(
            tr("ClassStrip", "%1 added at %2")
            .replace("%1", chapter.title)
            .replace("%2", format_elapsed(chapter.t_ns / 1e9))
        )

    def close(self) -> None:
        """Stop recording (waiting for the files) and close the host. Calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.strip.close_strip()
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            try:
                recorder.close()
            except Exception:  # exiting: log and carry on
                log.exception("class: closing the recording")
        if self.host is not None:
            try:
                self.host.close()
            except Exception:
                log.exception("class: closing the class host")


# the trainee -------------------------------------------------------------------------------------
TOOL_BUTTONS = {
    None: frozenset({"none"}),
    "pointer": frozenset({"none", "pointer"}),
}


class TraineeClass(QObject):
    def __init__(self, window: MainWindow, link: BackendLink, panel: QtCallPanel) -> None:
        super().__init__(panel)
        from widgets.trainee_follow import QtTraineeBanner, QtTraineeFollow

        self.window, self.link, self.panel = window, link, panel
        self.controller = panel.controller
        self.session: Any = None  # the ViewerSession following (set on the loop)
        self.following: int | None = None
        self._pending: int | None = None
        self.tool: str | None = None
        self._refusals_seen = 0
        self.follow = QtTraineeFollow()
        self.banner = QtTraineeBanner()
        panel.add_strip(self.follow)
        panel.add_strip(self.banner)
        panel.set_receive_only(True)
        self.controller.session_factory = self._make_session
        link.call_session_hooks.append(self._attach)
        link.worklist.changed.connect(self._sessions_changed)
        self.follow.sig_follow.connect(self.follow_consult)
        self.follow.sig_stop.connect(self.stop)
        self.controller.sig_state.connect(self._on_state)
        self.apply_tools(None)
        self._sessions_changed()

    def _make_session(self, signalling: Any, ice_servers: list[dict[str, Any]]) -> Any:  # on the loop
        from core.teaching.live import TraineeControl
        from rtc.class_viewer import ViewerSession

        return ViewerSession(signalling, ice_servers, control=TraineeControl())

    def _attach(self, session: Any) -> None:  # on the loop, before the session starts
        if not getattr(session, "viewer", False):
            return
        self.session = session
        control = session.control
        control.changed.connect(lambda: self.link.bridge.post(lambda: self._control_changed(session)))

    # UI thread ---------------------------------------------------------------------------------
    def _sessions_changed(self) -> None:
        self.follow.set_sessions(self.link.worklist.items)

    def follow_consult(self, consult_id: int) -> None:
        if self.controller.state in IN_CALL:
            self._pending = consult_id  # one session at a time: the next starts once this one ended
            self.controller.hang_up()
            return
        client = self.link.client
        if client is None:
            return
        self._pending = None
        self.following = consult_id
        user = self.link.sign_in_state.user
        if user is not None:  # the class host checks a trainee's operations are signed as themself
            document_for(self.link).set_author(user.username)
        self.link.open_consult(consult_id)

        self.controller.start(lambda: client.signal_url(consult_id), self.window.ws.site.rtc_ice_servers())
        self.follow.set_following(consult_id)
        self._render_banner()

    def stop(self) -> None:
        self._pending = None
        self.controller.hang_up()

    def _on_state(self, state: str) -> None:
        if state == ENDED:
            self.following, self.session = None, None
            self.follow.set_following(None)
            self.banner.hide()
            self.apply_tools(None)
            if self._pending is not None:
                self.follow_consult(self._pending)

    def _control_changed(self, session: Any) -> None:
        if session is not self.session:
            return
        control = session.control
        if control.tool != self.tool:
            self.apply_tools(control.tool)
        if control.refusals != self._refusals_seen:
            self._refusals_seen = control.refusals
            # only the class host's own reasons are about this trainee (a bedside's refusal of the
            # instructor's request is forwarded to the class too)
            reasons = {
                "no_tool": tr("TraineeFollow", "View only: the instructor has not handed you a tool."),
                "not_permitted": tr("TraineeFollow", "Your tool does not allow that."),
            }
            text = reasons.get(control.last_refusal or "")
            if text is not None:
                self.controller.sig_error.emit(text)
        self._render_banner()

    def _render_banner(self) -> None:
        if self.following is None:
            self.banner.hide()
            return
        item = self.link.worklist.get(self.following)
        session = self.session
        control = getattr(session, "control", None)
        teacher = (item.accepted_by if item is not None else None) or getattr(control, "instructor", "")
        self.banner.set_state(str(teacher or ""), self.tool, bool(getattr(control, "recording", False)))

    def apply_tools(self, tool: str | None) -> None:
        """View only until a tool is handed over; "pointer" enables pointing only, "annotate" all tools.
        Taking back drops whatever was being drawn at once."""
        from widgets.annotation_overlay import Tool

        self.tool = tool
        toolbar = self.panel.annotation_toolbar
        if toolbar is None:
            return
        allowed = TOOL_BUTTONS.get(tool)
        for kind, button in toolbar.tool_buttons.items():
            button.setEnabled(allowed is None or kind.value in allowed)
        if allowed is not None and toolbar.overlay.tool.value not in allowed:
            toolbar.select(Tool.NONE)
        annotate = tool == "annotate"
        for button in (
            toolbar.colour_button,
            toolbar.anchor_button,
            toolbar.undo_button,
            toolbar.redo_button,
            toolbar.clear_button,
        ):
            button.setVisible(annotate)
        toolbar.freeze_button.setVisible(False)  # freezing the picture is the call's, not a trainee's
        guidance = getattr(self.panel, "guidance_button", None)
        if guidance is not None:
            guidance.setChecked(False)
            guidance.setVisible(annotate)
        self._render_banner()


# the bedside -------------------------------------------------------------------------------------
class BedsideClass(QObject):
    def __init__(self, window: MainWindow, link: BackendLink, panel: QtCallPanel) -> None:
        super().__init__(panel)
        from widgets.class_strip import QtRecIndicator

        self.window, self.panel = window, panel
        self.controller = panel.controller
        self.rec = QtRecIndicator()
        panel.add_status(self.rec)
        self.controller.sig_message.connect(self._on_message)
        self.controller.sig_state.connect(self._on_state)

    def _on_state(self, state: str) -> None:
        if state == ENDED:
            self.rec.set_recording(False)

    def _on_message(self, message: ChannelMessage) -> None:
        control = control_of(message)
        if control is None:
            return
        action, args = control
        if action == "recording":
            self.rec.set_recording(bool(args.get("on")))
        elif action == "scenario":
            refusal = self.switch_scenario(str(args.get("name", "")))
            if refusal is not None:
                self.controller.send("control", "refused", control_body("refused", {"reason": refusal}))

    def switch_scenario(self, name: str) -> str | None:
        """Switch the bedside simulator's scenario; the reason when refused (a real monitor is never
        replaced by a simulation)."""
        from core.vitals.simulator import Scenario

        try:
            scenario = Scenario(name)
        except ValueError:
            return f"unknown scenario {name[:64]!r}"
        vitals = self._vitals_panel()
        if vitals is None or vitals.simulator is None:
            return "the bedside monitor is not the simulator: a real patient's vitals are never replaced"
        index = vitals.scenario.findData(scenario.value)
        vitals.scenario.setCurrentIndex(index)  # the panel switches its simulator and shows it
        if vitals.simulator.scenario is not scenario:
            vitals.simulator.set_scenario(scenario)
        return None

    def _vitals_panel(self) -> Any:
        dock = self.window.docks.get(PanelId.VITALS)
        holder = dock.widget() if dock is not None else None
        content = getattr(holder, "content", holder)
        return content if hasattr(content, "simulator") and hasattr(content, "scenario") else None
