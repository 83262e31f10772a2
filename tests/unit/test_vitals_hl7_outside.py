"""HL7 and alarms against material from outside: a real MLLP sender (python-hl7's MLLPClient and its
``mllp_send`` console script), hand-made raw frames over sockets, every ACK validated by hl7apy in strict
mode. Framing resynchronisation, ACKs per the standard, OBX-11 result status, time zones and future
times, processing ID, UCUM units; latching alarms, NEWS2 rounding, incomplete NIHSS."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hl7.client import MLLPClient
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from core.consult.patient import Patient
from core.vitals.alarms import AlarmCondition, AlarmKind, AlarmManager, Priority
from core.vitals.bed import Bed
from core.vitals.buffer import VitalsStore
from core.vitals.hl7 import (
    FS,
    VT,
    Header,
    Hl7Error,
    MllpListener,
    frame,
    make_ack,
    monitor_zone,
    parse_hl7_time,
    parse_oru,
)
from core.vitals.mllp import Deframer
from core.vitals.news2 import half_up, news2_score
from core.vitals.signals import Numeric
from plugins.stroke.logic import DoorToNeedle, NihssExam, report_text, severity

SHANGHAI = ZoneInfo("Asia/Shanghai")


def oru(
    control: str = "M1",
    obx: str = "OBX|1|NM|8867-4^Heart rate^LN||88|/min|||||F",
    version: str = "2.5",
    processing: str = "P",
    pid: str = "CT-1^^^HOSP",
) -> str:
    return (
        f"MSH|^~\\&|MONITOR|ICU-3|TELECONSULT|HOSP|20260314101500||ORU^R01^ORU_R01|{control}|{processing}|{version}\r"
        f"PID|||{pid}||Zhang^Wei\r"
        "OBR|1|||VS^Vital signs\r" + "".join(line + "\r" for line in obx.split("\n"))
    )


def strict(ack: str | bytes) -> Any:
    """The ACK parsed and validated by hl7apy in strict mode (raises when it is not valid HL7)."""
    text = ack.decode("utf-8") if isinstance(ack, bytes) else ack
    message = parse_message(text.strip("\x0b\x1c\r"), validation_level=VALIDATION_LEVEL.STRICT)
    message.validate()
    return message


def send(listener: MllpListener, message: str) -> Any:
    with MLLPClient("127.0.0.1", listener.port) as client:
        client.socket.settimeout(10)
        return strict(client.send_message(message))


def exchange(port: int, payload: bytes, replies: int) -> list[str]:
    """Raw bytes over TCP; read until ``replies`` MLLP-framed answers came (or the server closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        data = b""
        while data.count(FS + b"\r") < replies:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return [f.lstrip(VT).decode() for f in data.split(FS + b"\r") if f.strip()]


@pytest.fixture
def listener() -> Iterator[MllpListener]:
    store = VitalsStore(seconds=10)
    lst = MllpListener(store, port=0, time_zone=SHANGHAI)
    lst.start()
    yield lst
    lst.close()


# 1. framing ----------------------------------------------------------------------------------------
def test_deframer_resynchronises_on_the_last_start_block_and_discards_oversized_frames() -> None:
    d = Deframer(max_frame=100)
    events = d.feed(VT + b"MSH|truncated" + VT + b"MSH|good" + FS + b"\r")
    assert [(e.payload, bool(e.error)) for e in events] == [(b"MSH|truncated", True), (b"MSH|good", False)]
    assert "truncated" in events[0].error
    events = d.feed(VT + b"x" * 150)  # too large: one error now, the rest discarded unbuffered
    assert [e.error for e in events] == ["frame too large"]
    assert d.feed(b"y" * 10_000 + FS) == [] and len(d._buf) <= 1  # half an end block kept
    assert [(e.payload, e.error) for e in d.feed(b"\r" + VT + b"ok" + FS + b"\r")] == [(b"ok", "")]
    events = Deframer(max_frame=100).feed(b"junk" + FS + b"\r" + VT + b"ok" + FS + b"\r")
    assert [(e.payload, e.error) for e in events] == [
        (b"junk", "MLLP frame without start block"),
        (b"ok", ""),
    ]


def test_deframer_after_an_oversized_frame_reads_the_next_frame_normally() -> None:
    d = Deframer(max_frame=100)
    events = d.feed(VT + b"x" * 150)
    events += d.feed(b"x" * 500 + FS)
    events += d.feed(b"\r" + VT + b"next" + FS + b"\r")
    assert [(e.payload[:4], e.error) for e in events] == [(b"xxxx", "frame too large"), (b"next", "")]


def test_truncated_frame_then_good_message_stores_the_good_one_under_its_own_header() -> None:
    bed = Bed("ICU-3")
    bed.attach(Patient("CT-1", "Zhang^Wei", "M", date(1970, 1, 1), issuer="HOSP"), 7)
    store = VitalsStore(seconds=10)
    lst = MllpListener(store, port=0, bed=bed)
    lst.start()
    try:
        other = oru("TRUNC1", "OBX|1|NM|8867-4^HR^LN||150|/min|||||F", pid="P-2^^^HOSP").replace(
            "Zhang^Wei", "Wang^Lei"
        )
        good = oru("GOOD1", "OBX|1|NM|8867-4^HR^LN||72|/min|||||F")
        payload = VT + other.encode()[:-30] + frame(good)  # the first frame lost its tail and end block
        replies = exchange(lst.port, payload, 2)
        assert len(replies) == 2
        first, second = strict(replies[0]), strict(replies[1])
        assert (first.msa.msa_1.value, first.msa.msa_2.value) == ("AR", "TRUNC1")
        assert (second.msa.msa_1.value, second.msa.msa_2.value) == ("AA", "GOOD1")
        assert store.numeric(Numeric.HR) == 72 and lst.received == 1 and lst.refused == 0
    finally:
        lst.close()


def test_an_oversized_frame_gets_one_nak_and_the_next_messages_are_answered_as_handled(
    listener: MllpListener,
) -> None:
    big = VT + b"MSH|^~\\&|A|B|C|D|20260314||ORU^R01|BIG1|P|2.5\r" + b"X" * (5 * 1024 * 1024) + FS + b"\r"
    good1 = frame(oru("G1", "OBX|1|NM|8867-4^HR^LN||61|/min|||||F"))
    good2 = frame(oru("G2", "OBX|1|NM|8867-4^HR^LN||62|/min|||||F"))
    replies = exchange(listener.port, big + good1 + good2, 3)
    acks = [strict(r) for r in replies]
    assert [(a.msa.msa_1.value, a.msa.msa_2.value) for a in acks] == [
        ("AR", "BIG1"),
        ("AA", "G1"),
        ("AA", "G2"),
    ]
    assert "frame too large" in acks[0].err.err_7.value
    assert listener.store.numeric(Numeric.HR) == 62 and listener.received == 2
    assert listener.errors == ["frame too large"]


def test_an_idle_connection_is_closed() -> None:
    lst = MllpListener(VitalsStore(seconds=5), port=0, idle_timeout_s=0.3)
    lst.start()
    try:
        with socket.create_connection(("127.0.0.1", lst.port), timeout=10) as sock:
            t0 = time.monotonic()
            assert sock.recv(1) == b""  # the server closed it: we waited for that, not slept
            assert time.monotonic() - t0 < 5
        assert lst.idle_closed == 1
    finally:
        lst.close()


# 2. ACKs per the standard --------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8"])
def test_ack_mirrors_version_swaps_applications_and_validates_strictly(
    listener: MllpListener, version: str
) -> None:
    ack = send(listener, oru(f"V{version}", version=version))
    assert ack.msa.msa_1.value == "AA" and ack.msa.msa_2.value == f"V{version}"
    assert ack.msh.msh_12.to_er7() == version and ack.msh.msh_11.to_er7() == "P"
    assert (ack.msh.msh_3.to_er7(), ack.msh.msh_4.to_er7()) == ("TELECONSULT", "HOSP")
    assert (ack.msh.msh_5.to_er7(), ack.msh.msh_6.to_er7()) == ("MONITOR", "ICU-3")
    bad = send(listener, oru(f"B{version}", "OBX|1|NM|8867-4^HR^LN||fast|/min|||||F", version=version))
    assert bad.msa.msa_1.value == "AE" and bad.msa.msa_2.value == f"B{version}"
    assert bad.err is not None


def test_ack_codes_and_error_segments_validate_in_every_combination() -> None:
    for version in ("2.3.1", "2.4", "2.5", "2.6", "2.7", "2.8.2"):
        for code, error in (("AA", ""), ("AE", "bad | value"), ("AR", "rejected"), ("AA", "a warning")):
            h = Header("C1", "MON", "ICU", "TC", "HOSP", "R01", "P", version)
            ack = strict(make_ack(h, code, error))
            assert ack.msa.msa_1.value == code and ack.msa.msa_2.value == "C1"


def test_not_hl7_and_wrong_type_are_rejected_ar(listener: MllpListener) -> None:
    ack = send(listener, oru("ADT1").replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"))
    assert ack.msa.msa_1.value == "AR" and ack.msa.msa_2.value == "ADT1"
    assert ack.err.err_3.to_er7().startswith("200^")


# 3. OBX-11 result status ---------------------------------------------------------------------------
def test_result_status_final_corrected_preliminary_stored_wrong_and_cancelled_not(
    listener: MllpListener,
) -> None:
    store = listener.store
    assert send(listener, oru("S1", "OBX|1|NM|8867-4^HR^LN||80|/min|||||F")).msa.msa_1.value == "AA"
    assert send(listener, oru("S2", "OBX|1|NM|8867-4^HR^LN||81|/min|||||C")).msa.msa_1.value == "AA"
    assert store.numeric(Numeric.HR) == 81
    seen: list[Any] = []
    listener.on_message = seen.append
    assert send(listener, oru("S3", "OBX|1|NM|8867-4^HR^LN||82|/min|||||P")).msa.msa_1.value == "AA"
    assert store.numeric(Numeric.HR) == 82 and seen[-1].observations[0].preliminary
    for status in ("W", "X", "I", "R"):
        ack = send(listener, oru(f"S-{status}", f"OBX|1|NM|8867-4^HR^LN||199|/min|||||{status}"))
        assert ack.msa.msa_1.value == "AA"  # understood, and deliberately not stored
        assert store.numeric(Numeric.HR) == 82
    ack = send(listener, oru("S-D", "OBX|1|NM|8867-4^HR^LN|||/min|||||D"))
    assert ack.msa.msa_1.value == "AA" and store.numeric(Numeric.HR) is None  # deleted


# 4. time ---------------------------------------------------------------------------------------------
def test_a_time_without_zone_is_in_the_monitor_zone() -> None:
    expected = datetime(2026, 3, 14, 10, 14, 55, tzinfo=SHANGHAI).timestamp()
    assert parse_hl7_time("20260314101455", SHANGHAI) == expected
    assert parse_hl7_time("20260314021455+0000") == expected == parse_hl7_time("20260314101455+0800")
    local = datetime(2026, 3, 14, 10, 14, 55).timestamp()  # the workstation's zone by default
    assert parse_hl7_time("20260314101455") == local
    assert monitor_zone("") is None and monitor_zone("Asia/Shanghai") == SHANGHAI
    with pytest.raises(ValueError, match="unknown time zone"):
        monitor_zone("Mars/Olympus")


def test_the_newest_observation_wins_and_the_listener_uses_the_monitor_zone(listener: MllpListener) -> None:
    obx = "\n".join(
        [
            "OBX|1|NM|8867-4^HR^LN||90|/min|||||F|||20260314101510",  # the newest, sent first
            "OBX|2|NM|8867-4^HR^LN||70|/min|||||F|||20260314101450",
        ]
    )
    assert send(listener, oru("T1", obx)).msa.msa_1.value == "AA"
    assert listener.store.numeric(Numeric.HR) == 90
    expected = datetime(2026, 3, 14, 10, 15, 10, tzinfo=SHANGHAI).timestamp()
    assert listener.store.numeric_time(Numeric.HR) == expected


def test_a_future_time_is_flagged_and_kept_at_receipt_time(listener: MllpListener) -> None:
    ahead = datetime.fromtimestamp(time.time() + 3600, SHANGHAI).strftime("%Y%m%d%H%M%S")
    before = time.time()
    ack = send(listener, oru("FUT1", f"OBX|1|NM|8867-4^HR^LN||77|/min|||||F|||{ahead}"))
    assert ack.msa.msa_1.value == "AA" and ack.err.err_4.to_er7() == "W"
    assert "future" in ack.err.err_7.value and listener.warnings
    t = listener.store.numeric_time(Numeric.HR)
    assert t is not None and before - 1 <= t <= time.time() + 1
    message = parse_oru(
        oru("FUT2", f"OBX|1|NM|8867-4^HR^LN||77|/min|||||F|||{ahead}"), SHANGHAI, future_tolerance_s=7200
    )
    assert not message.observations[0].future  # within the tolerance: as sent


# 5. processing ID --------------------------------------------------------------------------------------
@pytest.mark.parametrize("processing", ["T", "D"])
def test_training_and_debug_messages_are_answered_not_stored(listener: MllpListener, processing: str) -> None:
    ack = send(listener, oru(f"PID-{processing}", processing=processing))
    assert ack.msa.msa_1.value == "AR" and ack.msh.msh_11.to_er7() == processing
    assert ack.err.err_3.to_er7().startswith("202^")
    assert listener.store.numeric(Numeric.HR) is None and listener.received == 0


def test_mllp_send_console_script(listener: MllpListener, tmp_path: Path) -> None:
    path = tmp_path / "messages.hl7"
    messages = [oru("CLI1"), oru("CLI2", processing="T"), oru("CLI3", "OBX|1|NM|8867-4^HR^LN||66|/min|||||F")]
    path.write_text("\n".join(m.replace("\r", "\n") for m in messages))
    script = Path(sys.executable).parent / "mllp_send"
    out = subprocess.run(
        [str(script), "--loose", "-f", str(path), "-p", str(listener.port), "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    acks = [strict(a) for a in out.replace("\n", "\r").split("MSH|")[1:] for a in ["MSH|" + a]]
    assert [(a.msa.msa_1.value, a.msa.msa_2.value) for a in acks] == [
        ("AA", "CLI1"),
        ("AR", "CLI2"),
        ("AA", "CLI3"),
    ]
    assert listener.store.numeric(Numeric.HR) == 66 and listener.received == 2


# 6. units --------------------------------------------------------------------------------------------
def test_ucum_units_are_converted(listener: MllpListener) -> None:
    obx = "\n".join(
        [
            "OBX|1|NM|8480-6^Systolic BP^LN||16|kPa^^UCUM|||||F",
            "OBX|2|NM|8310-5^Body temperature^LN||100.4|degF|||||F",
            "OBX|3|NM|150344^MDC_TEMP^MDC||99.5|[degF]^degF^UCUM|||||F",
            "OBX|4|NM|19889-5^etCO2^LN||5.0|kPa|||||F",
            "OBX|5|NM|8867-4^HR^LN||70|{beats}/min|||||F",
        ]
    )
    assert send(listener, oru("U1", obx)).msa.msa_1.value == "AA"
    store = listener.store
    assert store.numeric(Numeric.NIBP_SYS) == pytest.approx(120.0, abs=0.1)
    assert store.numeric(Numeric.TEMP) == pytest.approx(37.5)  # the newer OBX (same time: the later one)
    assert store.numeric(Numeric.ETCO2) == pytest.approx(37.5, abs=0.1)
    message = parse_oru(oru("U2", "OBX|1|NM|8310-5^T^LN||100.4|degF|||||F"))
    assert message.observations[0].value == pytest.approx(38.0)


def test_an_unknown_unit_is_answered_ae_and_nothing_is_stored(listener: MllpListener) -> None:
    obx = "OBX|1|NM|8867-4^HR^LN||70|/min|||||F\nOBX|2|NM|8480-6^SYS^LN||120|mg|||||F"
    ack = send(listener, oru("U3", obx))
    assert ack.msa.msa_1.value == "AE" and "unknown unit" in ack.err.err_7.value
    assert listener.store.numeric(Numeric.HR) is None and listener.store.numeric(Numeric.NIBP_SYS) is None
    with pytest.raises(Hl7Error, match="unknown unit"):
        parse_oru(oru("U4", "OBX|1|NM|59408-5^SpO2^LN||0.97|mm[Hg]|||||F"))


# 7. latching alarms ------------------------------------------------------------------------------------
def cond(alarm_id: str, p: Priority) -> AlarmCondition:
    return AlarmCondition(alarm_id, p, AlarmKind.PHYSIOLOGICAL, alarm_id)


def test_high_priority_alarms_latch_until_acknowledged() -> None:
    audit: list[str] = []
    alarms = AlarmManager(clock=lambda: 0.0, audit=lambda k, d: audit.append(k))
    alarms.update([cond("asystole", Priority.HIGH), cond("hr_high", Priority.MEDIUM)], now=1.0)
    alarms.update([], now=4.0)
    (latched,) = alarms.snapshot(now=4.0).alarms  # the medium one cleared with its condition
    assert latched.alarm_id == "asystole" and latched.latched and latched.ended_at == 4.0
    assert alarms.snapshot(now=5.0).audio_on  # still sounding
    alarms.update([cond("asystole", Priority.HIGH)], now=6.0)  # it came back: active again
    assert alarms.snapshot(now=6.0).alarms[0].ended_at is None
    alarms.update([], now=7.0)
    assert alarms.snapshot(now=7.0).alarms[0].ended_at == 7.0
    assert alarms.acknowledge(user="dr") == 1
    assert alarms.snapshot(now=8.0).alarms == ()  # acknowledged after it ended: cleared
    assert audit.count("vitals.alarm.condition_ended") == 2 and audit[-1] == "vitals.alarm.cleared"
    # acknowledged while active: clears with its condition, as before
    alarms.update([cond("asystole", Priority.HIGH)], now=9.0)
    alarms.acknowledge()
    alarms.update([], now=10.0)
    assert alarms.snapshot(now=10.0).alarms == ()
    # nothing monitored any more: latched alarms go too
    alarms.update([cond("asystole", Priority.HIGH)], now=11.0)
    alarms.update([], now=12.0)
    alarms.update([], now=13.0, latch=False)
    assert alarms.snapshot(now=13.0).alarms == ()


def test_the_banner_says_a_latched_alarm_ended_and_when() -> None:
    from widgets.vitals.alarm_banner import alarm_text

    alarms = AlarmManager(clock=lambda: 0.0)
    ended = datetime(2026, 3, 14, 10, 15, 7).timestamp()
    alarms.update([cond("asystole", Priority.HIGH)], now=ended - 30)
    alarms.update([], now=ended)
    text = alarm_text(alarms.snapshot(now=ended).alarms[0])
    assert text.startswith("ASYSTOLE") and "ended at 10:15:07" in text and "acknowledge" in text


# 8. NEWS2 rounding --------------------------------------------------------------------------------------
def test_news2_rounds_halves_up_as_the_chart_is_read() -> None:
    assert [half_up(v) for v in (20.5, 90.5, 100.5, 94.5, 0.4)] == [21, 91, 101, 95, 0]
    assert half_up(38.05, 1) == 38.1 and half_up(35.05, 1) == 35.1 and half_up(36.04, 1) == 36.0
    score = news2_score(rr=20.5, spo2=95.5, sys=100.5, pulse=90.5, temp=38.05)
    assert score.parts == {
        "rr": 2,
        "sys": 1,
        "pulse": 1,
        "temp": 1,
        "spo2": 0,
        "oxygen": 0,
        "consciousness": 0,
    }


# 9. NIHSS incomplete ---------------------------------------------------------------------------------
def test_nihss_is_incomplete_while_items_are_unscored() -> None:
    exam = NihssExam(clock=lambda: 1000.0)
    assert exam.severity == "incomplete" and severity(0, complete=False) == "incomplete"
    exam.set("1a", 0)
    assert exam.severity == "incomplete"
    text = report_text(exam, DoorToNeedle()) or ""
    assert "no stroke symptoms" not in text and "incomplete" in text
    assert severity(0) == "no stroke symptoms"  # only a complete exam names a band
