"""The annotation document: convergence whatever the arrival order, undo/redo, snapshots, rejection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.annotations.model import (
    AUTHOR_COLOURS,
    MAX_POINTS,
    MAX_TEXT,
    AnnotationDocument,
    InvalidOperationError,
    colour_for,
)


def recorder(doc: AnnotationDocument) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    doc.op_emitted.connect(ops.append)
    return ops


def rejections(doc: AnnotationDocument) -> list[str]:
    got: list[str] = []
    doc.rejected.connect(got.append)
    return got


def state(doc: AnnotationDocument) -> list[tuple[Any, ...]]:
    return [(a.id, a.author, a.kind, a.space, a.points, a.colour, a.text, a.lamport) for a in doc.annotations]


# --- convergence ----------------------------------------------------------------------------------

SITES = (("site-a", "dr.a"), ("site-b", "dr.b"), ("site-c", "dr.c"))
coord = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
mm = st.floats(min_value=-400.0, max_value=400.0, allow_nan=False)


def do_local(doc: AnnotationDocument, data: st.DataObject) -> None:
    """One random local action of the user at ``doc``."""
    mine = [a for a in doc.annotations if a.author == doc.author]
    actions = ["add", "add", "update", "update", "update", "delete", "clear", "undo", "redo"]
    action = data.draw(st.sampled_from(actions))
    if action == "add":
        if data.draw(st.booleans()):
            n = data.draw(st.integers(1, 5))
            pts = [(data.draw(coord), data.draw(coord)) for _ in range(n)]
            doc.add("stroke", "video", pts, pressure=[0.5] * n)
        else:
            doc.add("landmark", "patient", [(data.draw(mm), data.draw(mm), data.draw(mm))], text="L")
    elif action == "update" and mine:
        target = data.draw(st.sampled_from(mine))
        if data.draw(st.booleans()):
            doc.update(target.id, colour=data.draw(st.sampled_from(AUTHOR_COLOURS)))
        else:
            doc.update(target.id, text=data.draw(st.sampled_from(["", "a", "b", "c"])))
    elif action == "delete" and mine:
        doc.delete(data.draw(st.sampled_from(mine)).id)
    elif action == "clear":
        doc.clear(data.draw(st.sampled_from(["video", "patient", None])))
    elif action == "undo":
        doc.undo()
    elif action == "redo":
        doc.redo()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_three_sites_converge_whatever_the_order(data: st.DataObject) -> None:
    docs = [AnnotationDocument(site, author) for site, author in SITES]
    # inbox[i]: ops site i has not seen yet; delivered in any order, not even each sender's own order.
    inbox: list[list[dict[str, Any]]] = [[], [], []]
    for i, doc in enumerate(docs):
        doc.op_emitted.connect(lambda op, i=i: [inbox[j].append(op) for j in range(3) if j != i])
    for _ in range(data.draw(st.integers(5, 40))):
        i = data.draw(st.integers(0, 2))
        if inbox[i] and data.draw(st.booleans()):
            op = inbox[i].pop(data.draw(st.integers(0, len(inbox[i]) - 1)))
            assert docs[i].apply_remote(op)
        else:
            do_local(docs[i], data)
    for i, doc in enumerate(docs):
        order = data.draw(st.permutations(range(len(inbox[i]))))
        for k in order:
            assert doc.apply_remote(inbox[i][k])
        # Delivering everything again changes nothing (an outbox may resend).
        for op in inbox[i]:
            assert doc.apply_remote(op)
    assert state(docs[0]) == state(docs[1]) == state(docs[2])
    # A late joiner that only gets a snapshot sees the same, and so does a snapshot of a snapshot.
    late = AnnotationDocument("site-late", "dr.late")
    late.load_snapshot(json.loads(json.dumps(docs[1].snapshot())))
    assert state(late) == state(docs[0])
    again = AnnotationDocument("site-again", "dr.again")
    again.load_snapshot(late.snapshot())
    assert state(again) == state(docs[2])
    assert late.clock >= max(d.clock for d in docs) - 0  # the joiner's clock catches up


def test_concurrent_updates_last_writer_wins_and_delete_beats_older_updates() -> None:
    a, b = AnnotationDocument("a", "dr.a"), AnnotationDocument("b", "dr.b")
    ops_a = recorder(a)
    note = a.add("text", "video", [(0.5, 0.5)], text="first")
    a.update(note.id, text="second")
    b.apply_remote(ops_a[1])  # the update arrives before the add
    assert b.get(note.id) is None
    b.apply_remote(ops_a[0])
    assert b.get(note.id) is not None and b.get(note.id).text == "second"  # type: ignore[union-attr]
    a.delete(note.id)
    stale = dict(ops_a[1], lamport=ops_a[1]["lamport"])  # replayed older update after the delete
    b.apply_remote(ops_a[2])
    b.apply_remote(stale)
    assert b.get(note.id) is None and a.get(note.id) is None


def test_clear_hides_what_it_had_seen_and_spares_later_adds() -> None:
    a, b = AnnotationDocument("a", "dr.a"), AnnotationDocument("b", "dr.b")
    ops_a, ops_b = recorder(a), recorder(b)
    early = a.add("marker", "video", [(0.1, 0.1)])
    for op in ops_a:
        b.apply_remote(op)
    b.clear("video")  # b had seen `early`
    late = a.add("marker", "video", [(0.2, 0.2)])  # after a heard of nothing: lamport 2 < clear's 3?
    patient = a.add("landmark", "patient", [(1.0, 2.0, 3.0)])
    for op in ops_b:
        a.apply_remote(op)
    for op in ops_a[1:]:
        b.apply_remote(op)
    assert a.get(early.id) is None and b.get(early.id) is None
    assert state(a) == state(b)
    assert a.get(patient.id) is not None  # a video clear leaves patient space alone
    # `late` was concurrent with the clear: it survives only if its stamp is newer (deterministic).
    assert (a.get(late.id) is None) == (b.get(late.id) is None)
    after = a.add("marker", "video", [(0.3, 0.3)])
    assert a.get(after.id) is not None  # adds after hearing of the clear always survive
    # b undoes its clear: everything it hid comes back at both sites.
    assert b.undo()
    a.apply_remote(ops_b[-1])
    assert a.get(early.id) is not None and b.get(early.id) is not None


# --- undo / redo ----------------------------------------------------------------------------------


def test_undo_redo_of_own_operations() -> None:
    doc = AnnotationDocument("a", "dr.a")
    remote = AnnotationDocument("b", "dr.b")
    ops = recorder(doc)
    doc.op_emitted.connect(remote.apply_remote)
    arrow = doc.add("arrow", "video", [(0.1, 0.1), (0.4, 0.4)])
    doc.update(arrow.id, colour="#112233")
    doc.delete(arrow.id)
    assert doc.annotations == [] and remote.annotations == []
    assert doc.undo()  # the delete
    assert doc.get(arrow.id) is not None and doc.get(arrow.id).colour == "#112233"  # type: ignore[union-attr]
    assert doc.undo()  # the colour change
    assert doc.get(arrow.id).colour == colour_for("dr.a")  # type: ignore[union-attr]
    assert doc.undo()  # the add
    assert doc.annotations == [] and not doc.can_undo and not doc.undo()
    assert doc.redo() and doc.redo()
    assert doc.get(arrow.id).colour == "#112233"  # type: ignore[union-attr]
    assert state(remote) == state(doc)  # every undo and redo went out as an ordinary op
    assert doc.redo() and doc.annotations == [] and not doc.redo()
    # A new operation forgets what could be redone.
    doc.undo()
    doc.add("marker", "video", [(0.5, 0.5)])
    assert not doc.can_redo
    assert all(op["author"] == "dr.a" for op in ops)


def test_undo_leaves_other_authors_alone() -> None:
    a, b = AnnotationDocument("a", "dr.a"), AnnotationDocument("b", "dr.b")
    b.op_emitted.connect(a.apply_remote)
    theirs = b.add("marker", "video", [(0.5, 0.5)])
    assert not a.undo()  # nothing of a's to undo
    assert a.get(theirs.id) is not None
    got = rejections(a)
    assert a.update(theirs.id, text="mine now") is None and not a.delete(theirs.id)
    assert len(got) == 2 and a.get(theirs.id).text == ""  # type: ignore[union-attr]


def test_pointer_is_never_stored() -> None:
    a, b = AnnotationDocument("a", "dr.a"), AnnotationDocument("b", "dr.b")
    ops = recorder(a)
    seen: list[tuple[str, str, tuple[float, ...]]] = []
    b.pointer_moved.connect(seen.append)
    a.pointer("video", (0.25, 0.75))
    assert b.apply_remote(ops[0])
    assert seen == [("dr.a", "video", (0.25, 0.75))]
    assert a.annotations == [] and b.annotations == [] and b.snapshot()["records"] == []
    assert not a.can_undo


def test_author_colours_are_stable_and_distinct_enough() -> None:
    assert colour_for("dr.chen") == colour_for("dr.chen") and colour_for("dr.chen") in AUTHOR_COLOURS
    assert len({colour_for(f"user{i}") for i in range(40)}) >= 4
    doc = AnnotationDocument("a", "dr.chen")
    assert doc.add("marker", "video", [(0.5, 0.5)]).colour == colour_for("dr.chen")


# --- rejection ------------------------------------------------------------------------------------


def good_add(**changes: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "op": "add", "id": "x1", "author": "dr.b", "site": "b", "lamport": 1, "space": "video",
        "data": {"kind": "arrow", "points": [[0.1, 0.1], [0.2, 0.2]], "colour": "#ff0000"},
    }
    data = changes.pop("data", {})
    op.update(changes)
    op["data"] = dict(op["data"], **data)
    return op


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (good_add(data={"kind": "hologram"}), "unknown kind"),
        (good_add(op="explode"), "unknown operation"),
        (good_add(data={"points": [[0.1, 0.1], [1.6, 0.2]]}), "out of range"),
        (good_add(data={"points": [[-0.6, 0.1], [0.2, 0.2]]}), "out of range"),
        (good_add(space="patient", data={"kind": "landmark", "points": [[0, 0, 5001]]}), "beyond"),
        (good_add(data={"kind": "stroke", "points": [[0.5, 0.5]] * (MAX_POINTS + 1)}), "too many points"),
        (good_add(data={"kind": "text", "points": [[0.5, 0.5]], "text": "x" * (MAX_TEXT + 1)}), "too long"),
        (good_add(data={"points": [[0.1, 0.1]]}), "takes 2..2 points"),
        (good_add(data={"points": [[0.1, float("nan")], [0.2, 0.2]]}), "finite"),
        (good_add(data={"colour": "red; drop table"}), "colour"),
        (good_add(data={"kind": "stroke", "pressure": [0.5]}), "one value per point"),
        (good_add(data={"evil": 1}), "not allowed"),
        (good_add(lamport=-1), "lamport"),
        (good_add(lamport="7"), "lamport"),
        (good_add(space="hyperspace"), "space"),
        (good_add(id=""), "must not be empty"),
        (good_add(data={"kind": "pointer", "points": [[0.5, 0.5]]}), "unknown kind"),
        ("not an op", "object"),
    ],
)
def test_bad_operations_are_rejected_and_change_nothing(bad: Any, why: str) -> None:
    doc = AnnotationDocument("a", "dr.a")
    doc.add("marker", "video", [(0.5, 0.5)])
    before = state(doc)
    got = rejections(doc)
    assert doc.apply_remote(bad) is False
    assert len(got) == 1 and why in got[0]
    assert state(doc) == before


def test_hostile_edits_of_another_authors_annotation_are_rejected() -> None:
    a, b = AnnotationDocument("a", "dr.a"), AnnotationDocument("b", "dr.b")
    ops = recorder(a)
    mine = a.add("arrow", "video", [(0.1, 0.1), (0.3, 0.3)])
    b.apply_remote(ops[0])
    got = rejections(a)
    forged_update = {"op": "update", "id": mine.id, "author": "mallory", "site": "m", "lamport": 99,
                     "space": "video", "data": {"points": [[0.9, 0.9], [0.8, 0.8]]}}
    forged_delete = dict(forged_update, op="delete", data={})
    forged_readd = dict(ops[0], author="mallory", lamport=100)
    for forged in (forged_update, forged_delete, forged_readd):
        assert not a.apply_remote(forged)
    assert len(got) == 3 and all("may not change" in g for g in got)
    assert a.get(mine.id) == b.get(mine.id) == mine
    # A hostile snapshot record for an id we know is rejected too; the rest of the snapshot merges.
    snap = b.snapshot()
    snap["records"][0]["author"] = "mallory"
    extra = AnnotationDocument("c", "dr.c")
    extra.add("marker", "video", [(0.5, 0.5)])
    snap["records"].extend(extra.snapshot()["records"])
    a.load_snapshot(snap)
    assert len(got) == 4 and len(a.annotations) == 2 and a.get(mine.id) == mine


def test_local_bad_shapes_raise_and_emit_nothing() -> None:
    doc = AnnotationDocument("a", "dr.a")
    ops = recorder(doc)
    with pytest.raises(InvalidOperationError):
        doc.add("arrow", "video", [(0.1, 0.1), (2.0, 0.1)])
    with pytest.raises(ValueError, match="too many points"):
        doc.add("stroke", "video", [(0.5, 0.5)] * (MAX_POINTS + 1))
    with pytest.raises(InvalidOperationError):
        doc.add("landmark", "patient", [(0.5, 0.5)])  # patient points have three coordinates
    marker = doc.add("marker", "video", [(0.5, 0.5)])
    with pytest.raises(InvalidOperationError):
        doc.update(marker.id, points=[(0.1, 0.1), (0.2, 0.2)])  # a marker has one point
    with pytest.raises(InvalidOperationError):
        doc.update(marker.id, kind="arrow")  # the kind is fixed
    assert len(ops) == 1 and doc.clock == 1


def test_snapshot_rejects_garbage_without_raising() -> None:
    doc = AnnotationDocument("a", "dr.a")
    got = rejections(doc)
    doc.load_snapshot({"v": 2})
    doc.load_snapshot("nope")
    doc.load_snapshot({"v": 1, "clock": 3, "records": [{"id": "r"}, 5], "clears": [{"id": "c"}]})
    assert len(got) == 5 and doc.annotations == []
    assert doc.clock == 3


def test_points_are_rounded_so_every_site_holds_the_same_numbers() -> None:
    a, b = AnnotationDocument("a", "dr.a"), AnnotationDocument("b", "dr.b")
    a.op_emitted.connect(lambda op: b.apply_remote(json.loads(json.dumps(op))))
    made = a.add("marker", "video", [(1 / 3, 2 / 3)])
    assert made.points == ((0.3333, 0.6667),)
    assert b.get(made.id) == made


def test_a_stamp_far_in_the_future_cannot_freeze_our_clock() -> None:
    doc = AnnotationDocument("a", "dr.a")
    got = rejections(doc)
    assert not doc.apply_remote(good_add(lamport=2**31 - 1))
    late = 2**31 - 2
    clear = {"id": "c", "author": "dr.b", "scope": "all", "at": [late, "b"], "active": [True, late, "b"]}
    snap = {"v": 1, "clock": late, "records": [], "clears": [clear]}
    doc.load_snapshot(snap)
    assert len(got) == 2 and "far ahead" in got[0] and doc.clock == 0
    assert doc.apply_remote(good_add(lamport=500_000))  # well ahead, but plausible: accepted
    made = doc.add("marker", "video", [(0.5, 0.5)])
    assert made.lamport == 500_001 and doc.get(made.id) == made
