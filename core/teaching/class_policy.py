"""The rules of a live class on the instructor's workstation, apart from the transport that carries it.

rtc/classroom.py ClassHost fans the instructor's call out to the trainees and asks :class:`ClassRules`
(its ``policy``) every question whose answer is the class's:

- does a trainee's message pass? Only annotation operations the trainee's tool allows, signed as the
  trainee (:meth:`core.teaching.live.ClassModel.allows`); anything else is refused with a reason the
  trainee is told (``no_tool``, ``not_permitted``), except what is silently the instructor's alone (a
  trainee's snapshot never overrides the class's document; a trainee's control replies concern no one);
- what is a late joiner given? A trainee's ``snapshot_request`` is answered from the rules' own copy of
  the annotation document, kept from every message of the instructor's call, and a newcomer is told
  that the session is being recorded;
- which of the instructor's messages concern the class? Not snapshot requests (asked of the bedside),
  errors, the class's own control actions (a trainee's tool and refusals come from the rules alone) nor
  the instructor's scenario for the bedside's simulator;
- what does a control action change? Handing a tool over or taking it back updates the model (and goes
  out only to a viewer still there, a take-back only if a tool was held); the recording flag is kept
  for late joiners.

The rules speak plain strings and dicts, structurally an rtc.classroom.ClassPolicy: nothing here imports
rtc, so the rules read and test without a network, and the transport knows no class. The roster and the
tools live in :class:`core.teaching.live.ClassModel` (the UI's view of the class), kept in step with the
host's presence reports; all of it runs on the rtc loop, except :meth:`ClassRules.check_control`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from core.annotations.model import AnnotationDocument
from core.annotations.sync import CHANNEL, REQUEST_KIND, SNAPSHOT_KIND, snapshot_parts
from core.teaching.live import GRANT, RECORDING, REFUSED, SCENARIO, TAKE_BACK, ClassModel, check_tool

log = logging.getLogger(__name__)

Outgoing = tuple[str, str, dict[str, Any]]  # channel, kind, body

HOST_SITE = "class-host"  # the site the rules' copy of the document, and its snapshots, are signed by
NO_TOOL, NOT_PERMITTED = "no_tool", "not_permitted"  # refusal reasons; the trainee's UI explains them
_DOC_OPS = ("add", "update", "delete", "clear")
_OP_KEYS = ("op", "id", "author", "site", "lamport", "space", "data")
# Control actions between the instructor and the bedside that are no trainee's business: errors, and
# the class's own actions (a trainee's tool and refusals come from the rules alone), and the instructor's
# instructions to the bedside's simulator.
NOT_FORWARDED = frozenset({"error", GRANT, TAKE_BACK, REFUSED, SCENARIO})


def control_body(action: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"action": action, "args": dict(args or {})}


@dataclass(frozen=True)
class Verdict:
    """What becomes of one message a trainee sent (an rtc.classroom.ViewerVerdict)."""

    passes: bool = False
    replies: tuple[Outgoing, ...] = ()
    refusal: str | None = None


DROPPED = Verdict()


class ClassRules:
    """The class's rules for :class:`rtc.classroom.ClassHost`, over the instructor's :class:`ClassModel`."""

    def __init__(self, model: ClassModel) -> None:
        self.model = model
        self._mirror = AnnotationDocument(HOST_SITE, "")

    # --- who is in the class ----------------------------------------------------------------------
    def call_started(self) -> None:
        """A late joiner gets what was drawn on this call, not on an earlier one."""
        self._mirror = AnnotationDocument(HOST_SITE, "")

    def viewer_joined(self, member_id: str, username: str) -> None:
        self.model.add_viewer(member_id, username)

    def viewer_left(self, member_id: str) -> None:
        self.model.remove_viewer(member_id)

    def viewers_gone(self) -> None:
        self.model.clear()

    def viewer_connected(self, member_id: str, connected: bool) -> None:
        self.model.set_connected(member_id, connected)

    # --- what passes ------------------------------------------------------------------------------
    def observe(self, channel: str, kind: str, body: dict[str, Any]) -> None:
        """Keep the copy of the annotation document that late joiners are given."""
        if channel != CHANNEL:
            return
        try:
            if body.get("op") == SNAPSHOT_KIND:
                self._mirror.load_snapshot(body.get("data"))
            elif body.get("op") in _DOC_OPS:
                self._mirror.apply_remote({k: body[k] for k in _OP_KEYS if k in body})
        except Exception:
            log.exception("class: annotation copy failed")

    def forwards(self, channel: str, kind: str, body: dict[str, Any]) -> bool:
        if channel == CHANNEL and body.get("op") == REQUEST_KIND:
            return False  # asked of the bedside; trainees get theirs from the rules' copy
        return not (channel == "control" and body.get("action") in NOT_FORWARDED)

    def from_viewer(self, member_id: str, channel: str, kind: str, body: dict[str, Any]) -> Verdict:
        if channel == CHANNEL and body.get("op") == REQUEST_KIND:
            return Verdict(replies=tuple((CHANNEL, SNAPSHOT_KIND, part) for part in self.snapshot_bodies()))
        if channel == CHANNEL and body.get("op") == SNAPSHOT_KIND:
            return DROPPED  # a trainee's document never overrides the class's
        if channel == "control":
            # a trainee's errors and view-mirror replies (following, refused, missing) concern no one
            log.debug("class: control %s from viewer %s dropped", body.get("action"), member_id)
            return DROPPED
        if not self.model.allows(member_id, channel, kind, body):
            viewer = self.model.viewer(member_id)
            reason = NO_TOOL if viewer is None or viewer.tool is None else NOT_PERMITTED
            refusal = ("control", REFUSED, control_body(REFUSED, {"reason": reason}))
            return Verdict(replies=(refusal,), refusal=reason)
        return Verdict(passes=True)

    def snapshot_bodies(self) -> list[dict[str, Any]]:
        """The rules' copy of the document as ``snapshot`` operation bodies, each small enough for one
        channel message (at least one, so an empty document still answers a request)."""
        snapshot = self._mirror.snapshot()
        lamport = min(snapshot["clock"], 2**31 - 1)
        return [
            {
                "op": SNAPSHOT_KIND,
                "id": SNAPSHOT_KIND,
                "author": "",
                "site": HOST_SITE,
                "lamport": lamport,
                "space": "all",
                "data": part,
            }
            for part in snapshot_parts(snapshot)
        ]

    def greeting(self) -> list[Outgoing]:
        if not self.model.recording:
            return []
        return [("control", RECORDING, control_body(RECORDING, {"on": True}))]

    # --- the instructor's control actions ---------------------------------------------------------
    def check_control(self, action: str, args: dict[str, Any]) -> None:
        if action == GRANT:
            tool = args.get("tool")
            check_tool(tool if isinstance(tool, str) else repr(tool))

    def control(self, member_id: str | None, action: str, args: dict[str, Any]) -> bool:
        """A grant goes out only to a viewer still in the class, a take-back only if a tool was held;
        the recording flag is kept for late joiners; anything else goes out as it is."""
        if member_id is None:
            if action == RECORDING:
                self.model.set_recording(bool(args.get("on")))
            return True
        if action == GRANT:
            return self.model.grant(member_id, str(args.get("tool")))
        if action == TAKE_BACK:
            return self.model.take_back(member_id)
        return True
