"""One patient context for the vitals: the bed follows the consult context, the HL7 feed stores only the
bed's patient (answered by a real MLLP client and HL7 library the project did not write: python-hl7's
MLLPClient sends, hl7apy parses the ACK), the stream carries the consult id, nothing alarms or streams
before a patient is attached, and old data is said to be old."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import numpy as np
import pytest
from hl7.client import MLLPClient
from hl7apy.parser import parse_message

from core.consult.context import ConsultContext
from core.consult.patient import Patient
from core.vitals.alarms import Priority
from core.vitals.bed import Bed, Feed, Refusal, feed_state
from core.vitals.buffer import VitalsStore
from core.vitals.engine import MonitorEngine
from core.vitals.hl7 import MllpListener, OruMessage, parse_oru
from core.vitals.link import VitalsDownlink, VitalsUplink
from core.vitals.signals import Numeric, Wave
from core.vitals.simulator import Scenario, Simulator, SimulatorSource
from core.vitals.stream import (
    ProtocolError,
    StreamReceiver,
    StreamSender,
    WaveBatch,
    decode,
    decode_stamped,
    encode_wave,
    stamp,
)

LIU = Patient("US-2026-0107", "LIU^FANG", "F", date(1968, 3, 14), issuer="COUNTY-H")
WANG = Patient("P-2", "Wang Lei", "M", date(1980, 1, 1))


def oru(pid: str, control: str = "MSG1", hr: float = 88.0) -> str:
    return (
        f"MSH|^~\\&|MONITOR|ICU|TELECONSULT|SITE|20261123120000||ORU^R01^ORU_R01|{control}|P|2.5\r"
        f"PID|||{pid}\r"
        "OBR|1||||||20261123120000\r"
        f"OBX|1|NM|8867-4^Heart rate^LN||{hr:g}|/min|||||F\r"
        "OBX|2|NM|59408-5^SpO2^LN||94|%|||||F\r"
    )


def unescape(text: str) -> str:
    out = text.replace("\\F\\", "|").replace("\\S\\", "^").replace("\\T\\", "&").replace("\\R\\", "~")
    return out.replace("\\E\\", "\\")


# the bed and the consult context ---------------------------------------------------------------------
def test_the_bed_follows_the_context_and_a_lock_is_not_an_end() -> None:
    context, bed = ConsultContext(), Bed("ICU-3")
    seen: list[Patient | None] = []
    bed.changed.connect(seen.append)
    stop = bed.follow(context)
    assert bed.patient is None and not bed.monitoring
    context.open(LIU, consult_id=7)
    assert (bed.patient, bed.consult_id, seen) == (LIU, 7, [LIU])
    # a lock: identity hidden, the patient (and so monitoring and its alarms) stays
    context.end("locked")
    assert bed.patient == LIU and bed.locked and bed.monitoring and seen == [LIU]
    context.open(LIU, consult_id=7)  # reopened on unlock: the same patient, nothing cleared
    assert not bed.locked and seen == [LIU]
    # the same patient in another consult starts afresh; another patient too
    context.open(LIU, consult_id=8)
    assert bed.consult_id == 8 and seen == [LIU, LIU]
    context.open(WANG, consult_id=9)
    assert bed.patient == WANG and seen == [LIU, LIU, WANG]
    context.sign_out()
    assert bed.patient is None and bed.ended_reason == "signed_out" and seen[-1] is None
    context.open(LIU, consult_id=7)
    context.close()
    assert bed.ended_reason == "closed"
    stop()
    context.open(WANG, consult_id=9)
    assert bed.patient is None  # no longer following


def test_identity_checks_and_the_consult_of_a_stream() -> None:
    bed = Bed("ICU-3")
    refusal = bed.identity_problem("US-2026-0107")
    assert refusal is not None and not refusal.other_patient and "no patient is attached" in refusal.reason
    assert not bed.accepts_consult(7) and not bed.accepts_consult(None)
    bed.attach(LIU, 7)
    assert bed.identity_problem("US-2026-0107", "Liu Fang", "19680314", "COUNTY-H") is None
    assert bed.identity_problem("US-2026-0107") is None  # nothing to contradict
    other = bed.identity_problem("P-2", "Wang^Lei")
    assert other is not None and other.other_patient
    assert other.detail == "patient ID P-2 is not US-2026-0107"
    assert (
        "US-2026-0107" not in other.reason and "LIU" not in other.reason.upper()
    )  # the sender learns nothing
    issuer = bed.identity_problem("US-2026-0107", issuer="CITY-H")
    assert issuer is not None and "issuer" in issuer.reason and "CITY-H" in issuer.detail
    born = bed.identity_problem("US-2026-0107", "Liu Fang", "19700101")
    assert born is not None and "PID-7" in born.reason
    assert bed.accepts_consult(7) and bed.accepts_consult(None) and not bed.accepts_consult(8)


def test_feed_states() -> None:
    bed = Bed(clock=lambda: 1000.0)
    assert feed_state(bed, 1.0, 5.0) is Feed.NO_PATIENT
    bed.attach(LIU, 7)
    assert feed_state(bed, None, 5.0) is Feed.WAITING
    assert feed_state(bed, 1.0, 5.0) is Feed.LIVE
    assert feed_state(bed, 5.0, 5.0) is Feed.STALE
    bed.lock()  # a lock changes whose name is shown, not what the data is
    assert feed_state(bed, 1.0, 5.0) is Feed.LIVE and feed_state(bed, 6.0, 5.0) is Feed.STALE
    bed.call_ended()
    assert feed_state(bed, 1.0, 5.0) is Feed.ENDED and bed.call_ended_at == 1000.0 and not bed.monitoring
    bed.call_started()
    assert bed.monitoring
    assert feed_state(None, 9.0, 5.0) is Feed.STALE


# HL7 over MLLP from a client the project did not write ---------------------------------------------
def test_hl7_pid_is_parsed_with_issuer_name_and_birth_date() -> None:
    message = parse_oru(oru("US-2026-0107^^^COUNTY-H&1.2.3&ISO^MR~X-1^^^OTHER||LIU^FANG||19680314"))
    assert (message.patient_id, message.issuer) == ("US-2026-0107", "COUNTY-H")
    assert (message.patient_name, message.birth_date) == ("LIU^FANG", "19680314")


@pytest.fixture
def bedside() -> Any:
    """A bed, its store and engine, and an MLLP listener reporting refusals to the engine as the
    workstation wires it (widgets.vitals.create_vitals_panel)."""
    bed = Bed("ICU-3")
    store = VitalsStore(seconds=10)
    audited: list[tuple[str, dict[str, object]]] = []
    engine = MonitorEngine(store, audit=lambda a, d: audited.append((a, d)), bed=bed)

    def refused(message: OruMessage, refusal: Refusal) -> None:
        engine.refused("hl7", refusal, {"patient_id": message.patient_id, "control_id": message.control_id})

    listener = MllpListener(store, port=0, bed=bed, on_refused=refused)
    listener.start()
    yield bed, store, engine, listener, audited
    listener.close()


def send(listener: MllpListener, message: str) -> Any:
    """Send with python-hl7's MLLP client; the ACK parsed by hl7apy."""
    parse_message(message)  # the message itself is valid HL7 to a library that is not ours
    with MLLPClient("127.0.0.1", listener.port) as client:
        raw = client.send_message(message)
    text = raw.decode("utf-8").strip("\x0b\x1c\r")
    return parse_message(text, find_groups=False)


def test_hl7_while_no_patient_is_attached_is_answered_ae_and_stored_nowhere(bedside: Any) -> None:
    _bed, store, engine, listener, audited = bedside
    ack = send(listener, oru("US-2026-0107^^^COUNTY-H"))
    assert ack.msa.msa_1.value == "AE" and ack.msa.msa_2.value == "MSG1"
    assert "no patient is attached to bed ICU-3" in unescape(ack.err.err_7.value)
    assert store.numeric(Numeric.HR) is None and listener.received == 0 and listener.refused == 1
    assert [a for a, _ in audited] == ["vitals.feed.refused"]
    engine.analyse()
    assert engine.alarms.snapshot().alarms == ()  # nobody to alarm about


def test_hl7_for_another_patient_is_refused_audited_and_alarmed(bedside: Any) -> None:
    bed, store, engine, listener, audited = bedside
    bed.attach(LIU, 7)
    ack = send(listener, oru("P-2^^^COUNTY-H||WANG^LEI||19800101", control="WRONG1"))
    assert ack.msa.msa_1.value == "AE" and ack.msa.msa_2.value == "WRONG1"
    assert ack.err.err_3.to_er7().startswith("207^")
    why = unescape(ack.err.err_7.value)
    assert "another patient" in why and "US-2026-0107" not in why  # our patient is not named to the sender
    assert store.numeric(Numeric.HR) is None and store.newest_age() is None  # not stored
    action, details = audited[-1]
    assert action == "vitals.feed.refused"
    assert details["reason"] == "patient ID P-2 is not US-2026-0107" and details["bed"] == "ICU-3"
    assert details["patient_id"] == "P-2" and details["control_id"] == "WRONG1"
    engine.analyse()
    alarm = next(a for a in engine.alarms.snapshot().alarms if a.alarm_id == "feed_other_patient")
    assert alarm.kind.value == "technical" and alarm.priority is Priority.MEDIUM
    assert alarm.message == "Feed for another patient: patient ID P-2 is not US-2026-0107"
    # the gateway repeats it: answered AE each time, audited once (then once a minute, with the count)
    again = send(listener, oru("P-2^^^COUNTY-H||WANG^LEI||19800101", control="WRONG2"))
    assert again.msa.msa_1.value == "AE" and listener.refused == 2
    assert [a for a, _ in audited].count("vitals.feed.refused") == 1
    # the right patient's message is stored and acknowledged AA
    ok = send(listener, oru("US-2026-0107^^^COUNTY-H||LIU^FANG||19680314", control="OK1", hr=91))
    assert ok.msa.msa_1.value == "AA" and store.numeric(Numeric.HR) == 91 and listener.received == 1
    # the same ID under another issuer is another patient
    other_issuer = send(listener, oru("US-2026-0107^^^CITY-H", control="OK2"))
    assert other_issuer.msa.msa_1.value == "AE" and store.numeric(Numeric.SPO2) == 94


# the stream carries the consult ---------------------------------------------------------------------
def test_stream_version_2_carries_the_consult_and_version_1_still_reads() -> None:
    v1 = encode_wave(3, Wave.PLETH, 0, 1000.0, np.zeros(4))
    v2 = stamp(v1, 42)
    assert v2[2] == 2 and len(v2) == len(v1) + 8 and v2[5:9] == v1[5:9]  # seq where it was
    consult, batch = decode_stamped(v2)
    plain = decode(v1)
    assert consult == 42 and isinstance(batch, WaveBatch) and isinstance(plain, WaveBatch)
    assert (batch.seq, batch.wave, batch.first_index, batch.t_first) == (3, Wave.PLETH, 0, 1000.0)
    np.testing.assert_array_equal(batch.values, plain.values)
    assert isinstance(decode(v2), WaveBatch)  # a reader that ignores the consult reads it too
    assert decode_stamped(v1)[0] is None and stamp(v1, None) == v1
    with pytest.raises(ProtocolError, match="truncated consult id"):
        decode_stamped(v2[:12])


def test_a_stream_for_another_consult_is_dropped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    now = [5000.0]
    sender_store = VitalsStore(seconds=10, clock=lambda: now[0])
    foreign, own = StreamSender(sender_store, consult_id=8), StreamSender(sender_store, consult_id=lambda: 7)
    Simulator(Scenario.NORMAL, t0=4998.0).write_until(sender_store, 2.0)
    bed = Bed()
    bed.attach(LIU, 7)
    mine = VitalsStore(seconds=10, clock=lambda: now[0])
    receiver = StreamReceiver(mine, accept=bed.accepts_consult)
    with caplog.at_level(logging.WARNING, logger="core.vitals.stream"):
        for batch in foreign.poll():
            assert not receiver.feed(batch)
    assert receiver.foreign_batches > 5 and mine.newest_age() is None and mine.numeric(Numeric.SPO2) is None
    assert sum("for consult 8 dropped" in r.message for r in caplog.records) == 1  # logged, not flooded
    for batch in own.poll():
        receiver.feed(batch)
    assert mine.rings[Wave.ECG].total == sender_store.rings[Wave.ECG].total
    assert mine.numeric(Numeric.SPO2) == sender_store.numeric(Numeric.SPO2)
    bed.detach()  # no patient in context: nothing is stored for nobody
    before = receiver.foreign_batches
    assert not receiver.feed(stamp(encode_wave(1, Wave.PLETH, 0, now[0], np.zeros(4)), None))
    assert receiver.foreign_batches == before + 1


class FakeSession:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.handlers: list[Any] = []
        self.message_received = self

    def connect(self, handler: Any) -> None:
        self.handlers.append(handler)

    def disconnect(self, handler: Any) -> None:
        self.handlers.remove(handler)

    def send_bytes(self, _channel: Any, data: bytes) -> None:
        self.sent.append(data)


def test_uplink_stamps_the_bed_consult_and_sends_nothing_without_a_patient() -> None:
    bed, store = Bed(), VitalsStore(seconds=10)
    session = FakeSession()
    uplink = VitalsUplink(
        session, store, consult_id=lambda: bed.consult_id, gate=lambda: bed.patient is not None
    )
    store.set_numeric(Numeric.SPO2, 97)
    assert uplink.tick() == 0 and session.sent == []
    bed.attach(LIU, 7)
    store.set_numeric(Numeric.SPO2, 96)
    assert uplink.tick() > 0 and {decode_stamped(b)[0] for b in session.sent} == {7}
    # the specialist's downlink, bound to another consult, drops it
    other = Bed()
    other.attach(LIU, 8)
    remote = VitalsStore(seconds=10)
    downlink = VitalsDownlink(FakeSession(), remote, accept=other.accepts_consult)
    for batch in session.sent:
        downlink._on_message(type("M", (), {"channel": "vitals", "data": batch})())
    assert remote.numeric(Numeric.SPO2) is None and downlink.receiver.foreign_batches == len(session.sent)


# nothing before a patient, nothing on history -------------------------------------------------------
def test_the_simulator_writes_nothing_and_nothing_alarms_before_a_patient_is_attached() -> None:
    now = [1000.0]
    bed, store = Bed(), VitalsStore(seconds=30, clock=lambda: now[0])
    source = SimulatorSource(store, Scenario.ASYSTOLE, gate=lambda: bed.patient is not None)
    engine = MonitorEngine(store, bed=bed)
    for _ in range(20):
        now[0] += 0.5
        source.step()
        engine.analyse()
    assert store.rings[Wave.ECG].total == 0 and engine.alarms.snapshot().alarms == ()
    bed.attach(LIU, 7)
    for _ in range(20):
        now[0] += 0.5
        source.step()
    engine.analyse()
    ecg = store.rings[Wave.ECG]
    assert ecg.total == pytest.approx(10 * 500, abs=20)  # only what came after the attach, no backlog
    first = ecg.read(0, 1).times[0]
    assert first >= 1010.0 - 0.01
    assert "asystole" in {a.alarm_id for a in engine.alarms.snapshot().alarms}
    # the call that fed it ended: what is left is history, nothing alarms on it
    bed.call_ended()
    engine.analyse()
    assert engine.alarms.snapshot().alarms == ()


def test_no_data_from_the_bedside_is_a_technical_alarm_and_rates_are_not_made_up() -> None:
    now = [100.0]
    store = VitalsStore(seconds=30, clock=lambda: now[0])
    Simulator(Scenario.NORMAL, t0=80.0).write_until(store, 20.0)
    engine = MonitorEngine(store, stale_s=3.0)
    engine.analyse()
    assert store.numeric(Numeric.HR) is not None and engine.alarms.snapshot().alarms == ()
    hr_time = store.numeric_time(Numeric.HR)
    now[0] = 104.0  # nothing for 4 s
    engine.analyse()
    (alarm,) = engine.alarms.snapshot().alarms
    assert alarm.alarm_id == "stale" and alarm.kind.value == "technical" and alarm.priority is Priority.MEDIUM
    assert alarm.message == "No data from the bedside for 4 s"
    assert store.numeric_time(Numeric.HR) == hr_time  # no heart rate "now" from old samples
    assert store.numeric_age(Numeric.NEWS2) == pytest.approx(4.0)


def test_reset_clears_data_alarms_and_limits_with_an_audited_reason() -> None:
    audited: list[tuple[str, dict[str, object]]] = []
    store = VitalsStore(seconds=30, clock=lambda: 100.0)
    Simulator(Scenario.ASYSTOLE, t0=80.0).write_until(store, 20.0)
    engine = MonitorEngine(store, audit=lambda a, d: audited.append((a, d)), stale_s=4.0)
    engine.analyse()
    assert engine.alarms.summary() == (Priority.HIGH, len(engine.alarms.snapshot().alarms))
    engine.alarms.pause_audio()
    engine.set_limits(type(engine.limits)(hr_low=40, stale_s=4.0))
    engine.reset("consult ended (closed)")
    assert engine.alarms.summary() is None and engine.alarms.snapshot().audio_paused_s == 0
    assert (
        store.newest_age() is None and engine.limits == engine.default_limits and engine.limits.stale_s == 4
    )
    cleared = [d for a, d in audited if a == "vitals.alarm.cleared"]
    assert cleared and all(d["reason"] == "consult ended (closed)" for d in cleared)
