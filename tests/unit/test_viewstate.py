"""The mirrored view's model: validation, throttling, leader/follower, UID refusal, missing series."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from viewers.viewstate import (
    FOLLOW_ME,
    FOLLOW_STOP,
    FOLLOWING,
    TAKE_OVER,
    VIEW_MISSING,
    VIEW_REFUSED,
    VIEW_STATE,
    Availability,
    Camera,
    Notice,
    Role,
    ViewMirror,
    ViewMode,
    ViewState,
)

STUDY = "1.2.826.0.1.3680043.8.498.1"
SERIES = "1.2.826.0.1.3680043.8.498.1.1"
OTHER_SERIES = "1.2.826.0.1.3680043.8.498.1.2"
OTHER_STUDY = "1.2.826.0.1.3680043.8.498.9"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Pair:
    """Two mirrors whose messages are delivered by hand, in order, like the ordered control channel."""

    def __init__(self, clock: Clock, *, b_series: set[str] | None = None, b_study: str = STUDY) -> None:
        self.queue: list[tuple[str, str, dict[str, Any]]] = []  # (to, action, args)
        self.a = ViewMirror(
            lambda act, args: self.queue.append(("b", act, args)),
            name="dr.chen",
            clock=clock,
            expected_study=lambda: STUDY,
        )
        held = b_series if b_series is not None else {SERIES, OTHER_SERIES}

        def availability(study: str, series: str) -> Availability:
            if study != b_study:
                return "no_study"
            return "here" if series in held else "no_series"

        self.b = ViewMirror(
            lambda act, args: self.queue.append(("a", act, args)),
            name="dr.li",
            clock=clock,
            expected_study=lambda: b_study,
            availability=availability,
        )
        self.applied_a: list[ViewState] = []
        self.applied_b: list[ViewState] = []
        self.a.on_apply.append(self.applied_a.append)
        self.b.on_apply.append(self.applied_b.append)

    def deliver(self) -> list[str]:
        actions = []
        while self.queue:
            to, action, args = self.queue.pop(0)
            actions.append(action)
            (self.a if to == "a" else self.b).receive(action, args)
        return actions


def state(**kw: Any) -> ViewState:
    base: dict[str, Any] = {"study_uid": STUDY, "series_uid": SERIES, "slice_lps": (0.0, 0.0, 10.0)}
    base.update(kw)
    return ViewState(**base)


def test_view_state_validates_and_round_trips_through_json() -> None:
    full = state(
        mode=ViewMode.MPR,
        window_center=-600,
        window_width=1500,
        zoom=2.5,
        pan_mm=(12.0, -3.5),
        crosshair_lps=(1.0, 2.0, 3.0),
        camera=Camera(position=(0, -500, 0), focal_point=(0, 0, 0), view_up=(0, 0, 1)),
    )
    again = ViewState.model_validate_json(full.model_dump_json())
    assert again == full and again.mode is ViewMode.MPR and again.camera is not None
    for bad in (
        {"study_uid": "not a uid"},
        {"series_uid": ""},
        {"window_width": 0},
        {"zoom": 1000},
        {"slice_lps": (0.0, math.nan, 1.0)},
        {"crosshair_lps": (1.0, 2.0)},
        {"v": 2},
        {"unexpected": 1},
        {"mode": "4d"},
    ):
        with pytest.raises(ValidationError):
            state(**bad)
    assert state(seq=5).same_view(state(seq=9)) and not state().same_view(state(zoom=2.0))


def test_follow_me_makes_the_other_follow_and_states_apply() -> None:
    clock = Clock()
    pair = Pair(clock)
    pair.a.follow_me()
    assert pair.deliver() == [FOLLOW_ME, FOLLOWING]
    assert (pair.a.role, pair.b.role) == (Role.LEADER, Role.FOLLOWER)
    assert pair.b.peer_name == "dr.chen" and pair.a.peer_name == "dr.li"
    assert pair.a.offer(state(zoom=2.0))
    pair.deliver()
    assert [s.zoom for s in pair.applied_b] == [2.0]
    # an unchanged view is not sent again
    clock.now += 1
    assert not pair.a.offer(state(zoom=2.0, seq=7))
    # a follower's own offers go nowhere
    assert not pair.b.offer(state(zoom=3.0))
    assert not pair.queue


def test_offers_are_coalesced_to_the_rate_newest_wins() -> None:
    clock = Clock()
    pair = Pair(clock)
    pair.a.follow_me()
    pair.deliver()
    sent = [pair.a.offer(state(slice_lps=(0.0, 0.0, float(z)))) for z in range(10)]  # one burst
    assert sent == [True] + [False] * 9
    assert pair.a.due_in == pytest.approx(1 / 30)
    assert not pair.a.flush()
    clock.now += 0.034
    assert pair.a.flush() and pair.a.due_in is None
    pair.deliver()
    assert [s.slice_lps for s in pair.applied_b] == [(0.0, 0.0, 0.0), (0.0, 0.0, 9.0)]
    assert pair.a.sent == 2 and pair.b.applied == 2


def test_either_side_can_take_over_and_stop() -> None:
    clock = Clock()
    pair = Pair(clock)
    pair.a.follow_me()
    pair.deliver()
    pair.b.take_over()
    assert pair.deliver() == [TAKE_OVER, FOLLOWING]
    assert (pair.a.role, pair.b.role) == (Role.FOLLOWER, Role.LEADER)
    pair.b.offer(state(window_center=300.0, window_width=1500.0))
    pair.deliver()
    assert pair.applied_a[-1].window_center == 300.0 and not pair.applied_b
    # the old leader's late states (sent before it learnt) do not move the new leader's view
    pair.b.receive(VIEW_STATE, state(seq=99).model_dump(mode="json"))
    assert not pair.applied_b
    pair.a.stop()
    assert pair.deliver() == [FOLLOW_STOP]
    assert (pair.a.role, pair.b.role) == (Role.INDEPENDENT, Role.INDEPENDENT)
    pair.b.reset()
    assert pair.b.peer_name == ""


def test_simultaneous_follow_me_leaves_exactly_one_leader() -> None:
    clock = Clock()
    pair = Pair(clock)
    pair.a.follow_me()
    pair.b.follow_me()  # before either message arrives
    pair.deliver()
    roles = {pair.a.role, pair.b.role}
    assert roles == {Role.LEADER, Role.FOLLOWER}


def test_a_view_of_another_study_is_refused_and_reported_both_ways() -> None:
    clock = Clock()
    pair = Pair(clock)
    changes: list[Notice | None] = []
    pair.a.on_changed.append(lambda: changes.append(pair.a.notice))
    pair.a.follow_me()
    pair.deliver()
    pair.a.offer(state(study_uid=OTHER_STUDY))
    assert pair.deliver() == [VIEW_STATE, VIEW_REFUSED]
    assert not pair.applied_b and pair.b.refused == 1
    assert pair.b.notice == Notice("refused", OTHER_STUDY)
    assert pair.a.notice == Notice("peer_refused", "study_mismatch")
    assert changes[-1] == Notice("peer_refused", "study_mismatch")
    # back on the right study: applied, and the follower's notice clears
    clock.now += 1
    pair.a.offer(state())
    pair.deliver()
    assert len(pair.applied_b) == 1 and pair.b.notice is None


def test_a_missing_series_is_reported_once_instead_of_shown() -> None:
    clock = Clock()
    pair = Pair(clock, b_series={SERIES})
    pair.a.follow_me()
    pair.deliver()
    pair.a.offer(state(series_uid=OTHER_SERIES))
    assert pair.deliver() == [VIEW_STATE, VIEW_MISSING]
    clock.now += 1
    pair.a.offer(state(series_uid=OTHER_SERIES, zoom=3.0))
    assert pair.deliver() == [VIEW_STATE]  # not reported again for the same series
    assert not pair.applied_b
    assert pair.b.notice == Notice("missing", OTHER_SERIES)
    assert pair.a.notice == Notice("peer_missing", OTHER_SERIES)


def test_malformed_messages_get_an_error_reply_and_change_nothing() -> None:
    clock = Clock()
    pair = Pair(clock)
    pair.a.follow_me()
    pair.deliver()
    pair.b.receive(VIEW_STATE, {"study_uid": STUDY, "series_uid": SERIES, "zoom": "huge"})
    pair.b.receive(FOLLOW_ME, {"name": 5, "epoch": -1})
    assert [q[1] for q in pair.queue] == [VIEW_REFUSED, VIEW_REFUSED]
    pair.deliver()
    assert pair.b.role is Role.FOLLOWER and not pair.applied_b
    assert pair.a.notice == Notice("peer_refused", "invalid")
    pair.a.receive(VIEW_REFUSED, {"reason": "nonsense"})  # a bad error is logged, never answered
    assert not pair.queue
