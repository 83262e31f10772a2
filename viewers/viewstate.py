"""The mirrored view (issue 10): what one site's imaging view shows, sent as state, never as pixels.

:class:`ViewState` is a versioned, validated message naming the Study and Series Instance UIDs, so a
view never lands on the wrong patient's images. Positions are patient coordinates (LPS, mm), not slice
indices: each site sorts and renders its own copy of the study, and the same point lands on the same
anatomy whatever the local order. Pan is in millimetres for the same reason (the windows differ in size).

:class:`ViewMirror` is the follow/lead state machine over the call's ``control`` channel:

- "Follow me" on either side makes this site the leader and the other the follower; either can take
  over at any time. When both press at once, the higher (epoch, token) wins, so exactly one leads.
- The leader offers its state whenever it changes; offers are coalesced to ``rate_hz`` (newest wins).
- The follower applies what arrives, unless the study is not the consult's (refused, logged, and the
  reason shown on both sides) or the series is not here ("I don't have this series" goes back instead
  of showing something else).

Qt-free; the Qt adapter (viewers/view_mirror_qt.py) reads and applies view state, and the wiring
(app/wiring/viewstate.py) carries the messages between the rtc loop and the UI thread.
"""

from __future__ import annotations

import enum
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

VIEWSTATE_VERSION = 1
DEFAULT_RATE_HZ = 30.0

# control-channel actions (rtc/channels.py ControlBody: {"action": ..., "args": {...}})
VIEW_STATE = "view_state"
FOLLOW_ME = "follow_me"
TAKE_OVER = "take_over"
FOLLOW_STOP = "follow_stop"
FOLLOWING = "following"  # the follower's answer to follow_me / take_over, with its name
VIEW_MISSING = "view_missing"
VIEW_REFUSED = "view_refused"
ACTIONS = frozenset({VIEW_STATE, FOLLOW_ME, TAKE_OVER, FOLLOW_STOP, FOLLOWING, VIEW_MISSING, VIEW_REFUSED})


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Finite = Annotated[float, AfterValidator(_finite)]
Vec3 = tuple[Finite, Finite, Finite]
Uid = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")]
Name = Annotated[str, Field(max_length=128)]


class ViewMode(enum.StrEnum):
    SLICE = "2d"
    MPR = "mpr"
    VOLUME = "3d"


class Camera(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    position: Vec3
    focal_point: Vec3
    view_up: Vec3


class ViewState(BaseModel):
    """One site's view. Fields that a site has not got (no MPR built yet, no 3D view) are None."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1  # VIEWSTATE_VERSION
    study_uid: Uid
    series_uid: Uid
    mode: ViewMode = ViewMode.SLICE
    slice_lps: Vec3 | None = None  # a point on the 2D view's current slice
    window_center: Finite = 40.0
    window_width: Annotated[Finite, Field(gt=0, le=100_000)] = 400.0
    zoom: Annotated[Finite, Field(ge=0.05, le=100.0)] = 1.0
    pan_mm: tuple[Finite, Finite] = (0.0, 0.0)  # image centre offset, millimetres on screen
    crosshair_lps: Vec3 | None = None  # the MPR crosshair
    camera: Camera | None = None  # the 3D view's camera, LPS
    seq: Annotated[int, Field(ge=0)] = 0  # the sender's counter; stale states are dropped

    def same_view(self, other: ViewState | None) -> bool:
        return other is not None and self.model_copy(update={"seq": 0}) == other.model_copy(update={"seq": 0})


class Role(enum.StrEnum):
    INDEPENDENT = "independent"
    LEADER = "leader"
    FOLLOWER = "follower"


class _RoleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = ""
    epoch: Annotated[int, Field(ge=0)] = 0
    token: Annotated[str, Field(max_length=64)] = ""


class _MissingArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    study_uid: Uid
    series_uid: Uid
    what: Literal["study", "series"]


class _RefusedArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Literal["study_mismatch", "invalid"]
    detail: Annotated[str, Field(max_length=300)] = ""


NoticeKind = Literal[
    "refused",  # we refused the peer's state (wrong study, bad message)
    "missing",  # we lack the peer's study or series
    "peer_refused",  # the peer refused ours
    "peer_missing",  # the peer lacks ours
]


@dataclass(frozen=True)
class Notice:
    """Something to show in the banner: what happened and its detail (a UID or a reason)."""

    kind: NoticeKind
    detail: str


Send = Callable[[str, dict[str, Any]], None]
Availability = Literal["here", "no_study", "no_series"]


class ViewMirror:
    """Leader/follower state for one site; ``send(action, args)`` puts a message on ``control``.

    ``expected_study()`` names the consult's study (None: accept the study open here);
    ``availability(study_uid, series_uid)`` says whether this site has those images.
    Events: ``on_apply`` (a state to show), ``on_changed`` (role, peer or notice changed).
    Not thread-safe: use it from one thread (the UI thread in the app).
    """

    def __init__(
        self,
        send: Send,
        *,
        name: str = "",
        expected_study: Callable[[], str | None] = lambda: None,
        availability: Callable[[str, str], Availability] = lambda study, series: "here",
        rate_hz: float = DEFAULT_RATE_HZ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.send: Send = send
        self.name = name
        self.expected_study = expected_study
        self.availability = availability
        self.interval = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self.clock = clock
        self.role = Role.INDEPENDENT
        self.peer_name = ""
        self.notice: Notice | None = None
        self.on_apply: list[Callable[[ViewState], None]] = []
        self.on_changed: list[Callable[[], None]] = []
        self.token = uuid.uuid4().hex
        self._epoch = 0
        self._seq = 0
        self._last_sent: ViewState | None = None
        self._sent_at = -math.inf
        self._pending: ViewState | None = None
        self._applied_seq = -1
        self._missing_reported: tuple[str, str] | None = None
        self.sent = 0  # view states sent
        self.applied = 0  # view states applied
        self.refused = 0

    # --- local actions ------------------------------------------------------------------------
    def follow_me(self) -> None:
        """This site leads; the peer follows. From a follower this is taking over."""
        action = TAKE_OVER if self.role is Role.FOLLOWER else FOLLOW_ME
        self._epoch += 1
        self._become(Role.LEADER)
        self.notice = None
        self.send(action, _RoleArgs(name=self.name, epoch=self._epoch, token=self.token).model_dump())
        self._changed()

    def take_over(self) -> None:
        self.follow_me()

    def stop(self) -> None:
        """Stop leading or following; the peer is told and becomes independent too."""
        if self.role is Role.INDEPENDENT:
            return
        self._become(Role.INDEPENDENT)
        self.send(FOLLOW_STOP, _RoleArgs(name=self.name, epoch=self._epoch, token=self.token).model_dump())
        self._changed()

    def reset(self) -> None:
        """The call ended: independent again, nothing sent."""
        if self.role is not Role.INDEPENDENT or self.peer_name or self.notice is not None:
            self._become(Role.INDEPENDENT)
            self.peer_name = ""
            self.notice = None
            self._changed()

    def offer(self, state: ViewState) -> bool:
        """The local view is ``state``; while leading it goes out, at most ``rate_hz`` times a second
        (a newer offer replaces one waiting). Returns whether a message was sent now."""
        if self.role is not Role.LEADER:
            return False
        if state.same_view(self._pending if self._pending is not None else self._last_sent):
            return False
        self._pending = state
        return self.flush()

    def flush(self) -> bool:
        """Send the waiting offer if its time has come; call it on a timer while leading."""
        if self._pending is None or self.role is not Role.LEADER:
            return False
        if self.clock() - self._sent_at < self.interval:
            return False
        state, self._pending = self._pending, None
        self._seq += 1
        self._last_sent = state
        self._sent_at = self.clock()
        self.send(VIEW_STATE, state.model_copy(update={"seq": self._seq}).model_dump(mode="json"))
        self.sent += 1
        return True

    @property
    def due_in(self) -> float | None:
        """Seconds until the waiting offer may go (None: nothing waits)."""
        if self._pending is None:
            return None
        return max(0.0, self.interval - (self.clock() - self._sent_at))

    # --- messages from the peer ---------------------------------------------------------------
    def receive(self, action: str, args: dict[str, Any]) -> None:
        """A control message from the peer (only the actions in :data:`ACTIONS` concern us)."""
        try:
            if action in (FOLLOW_ME, TAKE_OVER):
                self._peer_leads(_RoleArgs.model_validate(args))
            elif action == FOLLOW_STOP:
                if self.role is not Role.INDEPENDENT:
                    self._become(Role.INDEPENDENT)
                    self._changed()
            elif action == FOLLOWING:
                self.peer_name = _RoleArgs.model_validate(args).name
                self._changed()
            elif action == VIEW_STATE:
                self._peer_state(args)
            elif action == VIEW_MISSING:
                missing = _MissingArgs.model_validate(args)
                log.info("view mirror: the peer has no %s %s", missing.what, missing.series_uid)
                self._notify(Notice("peer_missing", missing.series_uid if missing.what == "series"
                                    else missing.study_uid))
            elif action == VIEW_REFUSED:
                refused = _RefusedArgs.model_validate(args)
                log.warning("view mirror: the peer refused our view: %s %s", refused.reason, refused.detail)
                self._notify(Notice("peer_refused", refused.reason))
        except ValidationError as exc:
            log.warning("view mirror: malformed %s ignored: %s", action, str(exc)[:300])
            if action != VIEW_REFUSED:
                self.send(VIEW_REFUSED, _RefusedArgs(reason="invalid", detail=action).model_dump())

    def _peer_leads(self, args: _RoleArgs) -> None:
        # both pressed "Follow me" at once: the higher (epoch, token) leads, the other follows
        if self.role is Role.LEADER and (args.epoch, args.token) < (self._epoch, self.token):
            return
        self._epoch = max(self._epoch, args.epoch)
        self.peer_name = args.name
        self.notice = None
        self._applied_seq = -1
        self._missing_reported = None
        self._become(Role.FOLLOWER)
        self.send(FOLLOWING, _RoleArgs(name=self.name, epoch=self._epoch, token=self.token).model_dump())
        self._changed()

    def _peer_state(self, args: dict[str, Any]) -> None:
        if self.role is not Role.FOLLOWER:
            return  # not following (any more): the leader's late states do not move our view
        state = ViewState.model_validate(args)
        if state.seq <= self._applied_seq:
            return
        expected = self.expected_study()
        if expected is not None and state.study_uid != expected:
            self.refused += 1
            log.warning(
                "view mirror: refused a view of study %s; this consult's study is %s",
                state.study_uid,
                expected,
            )
            refusal = _RefusedArgs(reason="study_mismatch", detail=state.study_uid)
            self.send(VIEW_REFUSED, refusal.model_dump())
            self._notify(Notice("refused", state.study_uid))
            return
        where = self.availability(state.study_uid, state.series_uid)
        if where != "here":
            key = (state.study_uid, state.series_uid)
            if self._missing_reported != key:  # once per series, not for every state the leader sends
                self._missing_reported = key
                what: Literal["study", "series"] = "study" if where == "no_study" else "series"
                log.info("view mirror: no %s %s here", what, state.series_uid)
                self.send(VIEW_MISSING, _MissingArgs(
                    study_uid=state.study_uid, series_uid=state.series_uid, what=what
                ).model_dump())
                self._notify(Notice("missing", state.series_uid))
            return
        self._missing_reported = None
        self._applied_seq = state.seq
        if self.notice is not None:
            self.notice = None
            self._changed()
        self.applied += 1
        for callback in list(self.on_apply):
            callback(state)

    # --- internals -------------------------------------------------------------------------------
    def _become(self, role: Role) -> None:
        if role is self.role:
            return
        log.info("view mirror: %s -> %s", self.role.value, role.value)
        self.role = role
        self._pending = None
        self._last_sent = None
        self._sent_at = -math.inf  # a new leader sends its view at once

    def _notify(self, notice: Notice) -> None:
        self.notice = notice
        self._changed()

    def _changed(self) -> None:
        for callback in list(self.on_changed):
            try:
                callback()
            except Exception:
                log.exception("view mirror listener failed")
