"""The live-class models: who holds which tool, what a tool permits, the trainee's view of control; and the
class's rules as the transport asks them (core/teaching/class_policy.py), without a network."""

from __future__ import annotations

import pytest

from core.annotations.model import AnnotationDocument
from core.teaching.class_policy import HOST_SITE, ClassRules, Verdict
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


def _rules() -> tuple[ClassModel, ClassRules]:
    model = ClassModel()
    rules = ClassRules(model)
    rules.viewer_joined("m1", "student.zhao")
    return model, rules


def test_rules_pass_what_the_tool_allows_and_refuse_the_rest_with_a_reason() -> None:
    model, rules = _rules()
    refused = rules.from_viewer("m1", "annotations", "op", _op("add"))
    assert not refused.passes and refused.refusal == "no_tool"
    assert refused.replies == (("control", "refused", {"action": "refused", "args": {"reason": "no_tool"}}),)
    rules.check_control("grant", {"tool": "pointer"})
    assert rules.control("m1", "grant", {"tool": "pointer"}) and model.viewer("m1").tool == "pointer"  # type: ignore[union-attr]
    assert rules.from_viewer("m1", "annotations", "op", _op("pointer")) == Verdict(passes=True)
    assert rules.from_viewer("m1", "annotations", "op", _op("add")).refusal == "not_permitted"
    # silently dropped: a trainee's document or control replies are no one's business
    assert rules.from_viewer("m1", "annotations", "snapshot", _op("snapshot")) == Verdict()
    assert rules.from_viewer("m1", "control", "following", {"action": "following", "args": {}}) == Verdict()
    assert rules.control("m1", "take_back", {}) and not rules.control("m1", "take_back", {})
    assert not rules.control("nobody", "grant", {"tool": "pointer"})  # gone: nothing goes out
    with pytest.raises(ValueError, match="unknown tool"):
        rules.check_control("grant", {"tool": "scalpel"})
    rules.viewer_connected("m1", True)
    assert model.viewers == [ClassViewer("m1", "student.zhao", None, True)]
    rules.viewer_left("m1")
    assert model.viewers == []


def test_rules_forward_what_concerns_the_class_and_greet_late_joiners() -> None:
    model, rules = _rules()
    assert rules.forwards("annotations", "op", _op("add"))
    assert rules.forwards("chat", "text", {"text": "hi", "author": "dr.chen"})
    assert not rules.forwards("annotations", "snapshot_request", {"op": "snapshot_request"})
    for action in ("grant", "take_back", "refused", "scenario", "error"):
        assert not rules.forwards("control", action, {"action": action, "args": {}})
    assert rules.forwards("control", "recording", {"action": "recording", "args": {"on": True}})
    assert rules.greeting() == []
    assert rules.control(None, "recording", {"on": True}) and model.recording
    assert rules.greeting() == [("control", "recording", {"action": "recording", "args": {"on": True}})]
    rules.viewers_gone()
    assert model.viewers == [] and model.recording  # the flag is the session's, not the viewers'


def test_rules_answer_a_snapshot_request_from_their_copy_of_the_call() -> None:
    _model, rules = _rules()
    bedside = AnnotationDocument("county-ws", "dr.li")
    arrow = bedside.add("arrow", "video", [[0.1, 0.1], [0.2, 0.2]])
    rules.observe("annotations", "snapshot", {"op": "snapshot", "data": bedside.snapshot()})
    request = {"op": "snapshot_request"}

    verdict = rules.from_viewer("m1", "annotations", "snapshot_request", request)
    assert not verdict.passes and verdict.refusal is None and len(verdict.replies) == 1
    channel, kind, body = verdict.replies[0]
    assert (channel, kind, body["op"], body["site"]) == ("annotations", "snapshot", "snapshot", HOST_SITE)
    trainee = AnnotationDocument("trainee-ws", "student.zhao")
    trainee.load_snapshot(body["data"])
    assert trainee.get(arrow.id) is not None

    rules.call_started()  # a new call: what was drawn on the last one is not handed to newcomers
    (_channel, _kind, empty), = rules.from_viewer("m1", "annotations", "snapshot_request", request).replies
    assert empty["data"]["records"] == []
