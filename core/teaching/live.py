"""A live class: trainees follow a consult as viewers; the instructor hands a tool over and takes it back.

Two small models, Qt-free: :class:`ClassModel` on the instructor's workstation (who is watching, who
holds which tool, whether the session is being recorded, and the rule :meth:`ClassModel.allows` that
core/teaching/class_policy.py applies, for the transport in rtc/classroom.py, to everything a viewer
sends), and :class:`TraineeControl` on a trainee's
(the control actions the instructor sent: which tool this trainee holds, the recording flag).

Control channel actions (rtc.channels ControlBody ``action``/``args``):
``grant`` {"tool"}, ``take_back`` {}, ``recording`` {"on"}, ``refused`` {"reason"},
``scenario`` {"name"} (instructor -> bedside simulator).

Events fire on the thread that mutates the model (the rtc loop in the app): the UI marshals to its own
thread (widgets/qt_async.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.observable import Event

TOOLS = ("pointer", "annotate")

GRANT, TAKE_BACK, RECORDING, REFUSED, SCENARIO = "grant", "take_back", "recording", "refused", "scenario"
CONTROL_ACTIONS = (GRANT, TAKE_BACK, RECORDING, REFUSED, SCENARIO)

# What each tool lets a trainee send, on the ``annotations`` channel only. Snapshots are never a
# trainee's to send: a late joiner's document comes from the instructor.
_ANNOTATE_OPS = frozenset({"add", "update", "delete", "clear", "pointer"})
TOOL_OPS: dict[str, frozenset[str]] = {"pointer": frozenset({"pointer"}), "annotate": _ANNOTATE_OPS}


def check_tool(tool: str) -> str:
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(TOOLS)}")
    return tool


def tool_allows(tool: str | None, channel: str, kind: str, body: dict[str, Any]) -> bool:
    """Whether holding ``tool`` permits sending this message (the same rule at both ends)."""
    if tool is None or channel != "annotations":
        return False
    return body.get("op") in TOOL_OPS.get(tool, frozenset()) and kind in ("op", body.get("op"))


@dataclass
class ClassViewer:
    """One trainee in the room, as the instructor sees them."""

    member_id: str
    username: str
    tool: str | None = None
    connected: bool = False


class ClassModel:
    """The instructor's class: viewers in order of arrival, their tools, the recording flag.

    Mutated on the rtc loop by :class:`core.teaching.class_policy.ClassRules`, which the transport
    (:class:`rtc.classroom.ClassHost`) calls on viewer presence and connection and for the host's
    thread-safe ``send_control``/``broadcast_control``; ``changed`` fires
    after every change.
    """

    def __init__(self) -> None:
        self.changed: Event[[]] = Event()
        self._viewers: dict[str, ClassViewer] = {}
        self._recording = False

    @property
    def viewers(self) -> list[ClassViewer]:
        """Copies, in order of arrival (mutating them changes nothing here)."""
        return [replace(v) for v in self._viewers.values()]

    def viewer(self, member_id: str) -> ClassViewer | None:
        found = self._viewers.get(member_id)
        return None if found is None else replace(found)

    @property
    def recording(self) -> bool:
        return self._recording

    def set_recording(self, on: bool) -> None:
        if on != self._recording:
            self._recording = on
            self.changed.emit()

    def add_viewer(self, member_id: str, username: str) -> None:
        """A trainee joined the room (again: a rejoin keeps nothing of a previous membership)."""
        self._viewers[member_id] = ClassViewer(member_id, username)
        self.changed.emit()

    def remove_viewer(self, member_id: str) -> None:
        if self._viewers.pop(member_id, None) is not None:
            self.changed.emit()

    def clear(self) -> None:
        """Every viewer gone at once (the instructor's call ended or its signalling rejoined)."""
        if self._viewers:
            self._viewers.clear()
            self.changed.emit()

    def set_connected(self, member_id: str, connected: bool) -> None:
        viewer = self._viewers.get(member_id)
        if viewer is not None and viewer.connected != connected:
            viewer.connected = connected
            self.changed.emit()

    def grant(self, member_id: str, tool: str) -> bool:
        """Hand ``tool`` to a viewer (replacing what they held). False when no such viewer."""
        check_tool(tool)
        viewer = self._viewers.get(member_id)
        if viewer is None:
            return False
        if viewer.tool != tool:
            viewer.tool = tool
            self.changed.emit()
        return True

    def take_back(self, member_id: str) -> bool:
        """Take a viewer's tool back. False when no such viewer or they held none."""
        viewer = self._viewers.get(member_id)
        if viewer is None or viewer.tool is None:
            return False
        viewer.tool = None
        self.changed.emit()
        return True

    def allows(self, member_id: str, channel: str, kind: str, body: dict[str, Any]) -> bool:
        """May this viewer's message reach the instructor, the bedside and the other viewers?

        "annotate" permits any annotation operation, "pointer" the pointer only, and only as the
        viewer themself (an operation signed by another author is an impersonation).
        """
        viewer = self._viewers.get(member_id)
        if viewer is None or not tool_allows(viewer.tool, channel, kind, body):
            return False
        return not viewer.username or body.get("author") == viewer.username


class TraineeControl:
    """The trainee's side of the control channel: the tool they hold, the recording flag, who teaches.

    :meth:`apply` takes the control actions the instructor sends; unknown ones are ignored.
    """

    def __init__(self) -> None:
        self.changed: Event[[]] = Event()
        self.tool: str | None = None
        self.recording = False
        self.instructor = ""
        self.last_refusal: str | None = None
        self.refusals = 0

    def set_instructor(self, username: str) -> None:
        if username != self.instructor:
            self.instructor = username
            self.changed.emit()

    def may_send(self, channel: str, kind: str, body: dict[str, Any]) -> bool:
        """What the instructor's host would accept now (the UI offers sending only then)."""
        return tool_allows(self.tool, channel, kind, body)

    def reset(self) -> None:
        """The instructor is gone: whatever was handed over is no longer held."""
        if self.tool is not None or self.recording:
            self.tool, self.recording = None, False
            self.changed.emit()

    def apply(self, action: str, args: dict[str, Any]) -> None:
        if action == GRANT:
            tool = args.get("tool")
            if tool in TOOLS and tool != self.tool:
                self.tool = str(tool)
                self.changed.emit()
        elif action == TAKE_BACK:
            if self.tool is not None:
                self.tool = None
                self.changed.emit()
        elif action == RECORDING:
            on = bool(args.get("on"))
            if on != self.recording:
                self.recording = on
                self.changed.emit()
        elif action == REFUSED:
            self.last_refusal = str(args.get("reason", ""))[:200]
            self.refusals += 1
            self.changed.emit()
