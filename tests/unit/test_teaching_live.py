"""The live-class models: who holds which tool, what a tool permits, the trainee's view of control."""

from __future__ import annotations

import pytest

from core.teaching.live import TOOLS, ClassModel, ClassViewer, TraineeControl, tool_allows


def _op(op: str, author: str = "student.zhao") -> dict[str, object]:
    return {"op": op, "id": "a1", "author": author, "site": "s", "lamport": 1, "space": "video", "data": {}}


def test_viewers_in_order_of_arrival_with_tools_and_connection() -> None:
    model = ClassModel()
    changes: list[int] = []
    model.changed.connect(lambda: changes.append(1))
    model.add_viewer("m1", "student.zhao")
    model.add_viewer("m2", "student.qian")
    model.set_connected("m2", True)
    assert model.grant("m1", "annotate")
    assert model.viewers == [
        ClassViewer("m1", "student.zhao", "annotate", False),
        ClassViewer("m2", "student.qian", None, True),
    ]
    model.viewers[0].tool = None  # a copy: the model is unchanged
    assert model.viewer("m1") == ClassViewer("m1", "student.zhao", "annotate", False)
    assert len(changes) == 4
    model.grant("m1", "annotate")  # no change, no event
    model.set_connected("m2", True)
    assert len(changes) == 4
    model.remove_viewer("m2")
    assert [v.member_id for v in model.viewers] == ["m1"]
    model.clear()
    assert model.viewers == [] and len(changes) == 6


def test_grant_and_take_back_rules() -> None:
    model = ClassModel()
    model.add_viewer("m1", "student.zhao")
    with pytest.raises(ValueError, match="unknown tool"):
        model.grant("m1", "scalpel")
    assert not model.grant("nobody", "pointer")
    assert not model.take_back("m1")  # held nothing
    assert model.grant("m1", "pointer") and model.take_back("m1")
    assert model.viewer("m1") == ClassViewer("m1", "student.zhao", None, False)
    model.add_viewer("m1", "student.zhao")  # a rejoin starts without a tool
    assert model.viewer("m1") is not None and model.viewer("m1").tool is None  # type: ignore[union-attr]


def test_allows_follows_the_tool_held() -> None:
    model = ClassModel()
    model.add_viewer("m1", "student.zhao")
    assert not model.allows("m1", "annotations", "op", _op("add"))  # no tool
    model.grant("m1", "pointer")
    assert model.allows("m1", "annotations", "op", _op("pointer"))
    assert not model.allows("m1", "annotations", "op", _op("add"))
    model.grant("m1", "annotate")
    for op in ("add", "update", "delete", "clear", "pointer"):
        assert model.allows("m1", "annotations", "op", _op(op))
    assert not model.allows("m1", "annotations", "snapshot", _op("snapshot"))
    assert not model.allows("m1", "chat", "text", {"text": "hello", "author": "student.zhao"})
    assert not model.allows("m1", "control", "grant", {"action": "grant", "args": {"tool": "annotate"}})
    assert not model.allows("m1", "annotations", "op", _op("add", author="dr.chen"))  # impersonation
    assert not model.allows("m2", "annotations", "op", _op("add"))  # not in the class
    model.take_back("m1")
    assert not model.allows("m1", "annotations", "op", _op("pointer"))


def test_recording_flag() -> None:
    model = ClassModel()
    changes: list[int] = []
    model.changed.connect(lambda: changes.append(1))
    model.set_recording(True)
    model.set_recording(True)
    assert model.recording and changes == [1]


def test_trainee_control_applies_the_instructors_actions() -> None:
    control = TraineeControl()
    changes: list[int] = []
    control.changed.connect(lambda: changes.append(1))
    assert not control.may_send("annotations", "op", _op("pointer"))
    control.apply("grant", {"tool": "pointer"})
    assert control.tool == "pointer"
    assert control.may_send("annotations", "op", _op("pointer"))
    assert not control.may_send("annotations", "op", _op("add"))
    control.apply("grant", {"tool": "scalpel"})  # unknown: ignored
    assert control.tool == "pointer"
    control.apply("grant", {"tool": "annotate"})
    assert control.may_send("annotations", "op", _op("add"))
    control.apply("recording", {"on": True})
    control.apply("refused", {"reason": "no_tool"})
    assert control.recording and control.last_refusal == "no_tool" and control.refusals == 1
    control.apply("take_back", {})
    assert control.tool is None
    control.apply("view_state", {"series": 1})  # not a class action: nothing happens
    control.set_instructor("dr.chen")
    assert control.instructor == "dr.chen"
    assert len(changes) == 6
    control.reset()
    assert control.tool is None and not control.recording


def test_tool_allows_is_the_shared_rule() -> None:
    assert TOOLS == ("pointer", "annotate")
    assert not tool_allows(None, "annotations", "op", _op("pointer"))
    assert tool_allows("annotate", "annotations", "op", _op("delete"))
    assert not tool_allows("annotate", "annotations", "op", _op("snapshot_request"))
    assert not tool_allows("annotate", "vitals", "op", _op("add"))
