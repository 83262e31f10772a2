"""The consult context and patient matching, without a GUI."""

from __future__ import annotations

from datetime import date

import pytest

from core.consult.context import CLOSED, LOCKED, SIGNED_OUT, SWITCHED, ConsultContext
from core.consult.identity import names_agree, same_patient
from core.consult.patient import Patient

LIU = Patient("US-2026-0107", "Liu Fang", "F", date(1958, 9, 2))
ZHANG = Patient("CT-2026-0042", "Zhang Wei", "M", date(1962, 3, 14))


def recorder(ctx: ConsultContext) -> list[tuple[str, object]]:
    events: list[tuple[str, object]] = []
    ctx.changed.connect(lambda p: events.append(("changed", p.patient_id if p else None)))
    ctx.opened.connect(lambda c: events.append(("opened", c.consult_id)))
    ctx.ended.connect(lambda r: events.append(("ended", r)))
    return events


def test_switching_is_one_operation_that_ends_the_old_consult_first() -> None:
    ctx = ConsultContext()
    events = recorder(ctx)
    ctx.open(LIU, 7, {"dr.li", "dr.chen"})
    ctx.open(ZHANG, 8, {"dr.li", "dr.chen"}, study_uid="1.2.3")
    assert events == [
        ("changed", "US-2026-0107"), ("opened", 7),
        ("ended", SWITCHED), ("changed", "CT-2026-0042"), ("opened", 8),
    ]  # fmt: skip
    assert ctx.owns(8) and not ctx.owns(7) and not ctx.owns(None)
    assert ctx.consult is not None and ctx.consult.study_uid == "1.2.3"
    ctx.open(ZHANG, 8, {"dr.li", "dr.chen"}, study_uid="1.2.3")  # the same again: nothing happens
    assert len(events) == 5


def test_ends_carry_their_reason_and_twice_is_harmless() -> None:
    ctx = ConsultContext()
    events = recorder(ctx)
    ctx.open(LIU, 7)
    ctx.close()
    ctx.close()
    ctx.open(LIU, 7)
    assert ctx.lock() is not None and ctx.patient is None
    ctx.open(LIU, 7)
    ctx.user = "dr.chen"
    ctx.sign_out()
    assert ctx.user is None
    ends = [r for kind, r in events if kind == "ended"]
    assert ends == [CLOSED, LOCKED, SIGNED_OUT]
    assert events[-1] == ("changed", None)


def test_outside_identities_match_tolerantly_but_the_id_decides() -> None:
    assert same_patient(ZHANG, "CT-2026-0042", "ZHANG^WEI", "19620314").same
    assert same_patient(ZHANG, "CT-2026-0042", "Wei Zhang", "1962-03-14").same
    assert same_patient(ZHANG, "CT-2026-0042", "ZHANG^WEI=张^伟", "").same
    assert same_patient(Patient("P9", "张伟", "M", None), "P9", "张^伟").same
    other_id = same_patient(ZHANG, "CT-2026-0043", "Zhang^Wei")
    assert not other_id.same and "CT-2026-0043" in other_id.reason
    conflict = same_patient(ZHANG, "CT-2026-0042", "Liu^Fang")
    assert not conflict.same and "Liu^Fang" in conflict.reason
    born = same_patient(ZHANG, "CT-2026-0042", "Zhang Wei", "19620315")
    assert not born.same and "19620315" in born.reason
    issued = Patient("123", "Zhang Wei", "M", None, issuer="HOSP-A")
    assert not same_patient(issued, "123", "Zhang Wei", issuer="HOSP-B").same
    assert same_patient(issued, "123", "Zhang Wei", issuer="").same  # most PACS leave it empty
    assert not same_patient(ZHANG, "", "Zhang Wei").same


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [("Liu Fang", "LIU^FANG", True), ("Liu Fang", "", True), ("Ｌｉｕ Ｆａｎｇ", "liu fang", True),
     ("Liu Fang", "Liu Feng", False), ("刘芳", "刘^芳", True), ("刘芳", "张伟", False)],
)  # fmt: skip
def test_names(a: str, b: str, agree: bool) -> None:
    assert names_agree(a, b) is agree


def test_is_patient_with_nothing_open_is_false() -> None:
    ctx = ConsultContext()
    assert not ctx.is_patient("CT-2026-0042")
    ctx.open(ZHANG, 8)
    assert ctx.is_patient("CT-2026-0042", "ZHANG^WEI") and not ctx.is_patient("US-2026-0107")
