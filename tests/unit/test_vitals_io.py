"""HL7 ORU^R01 over real MLLP frames on loopback, replay files, and the streaming protocol with losses."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from core.vitals.buffer import VitalsStore
from core.vitals.hl7 import FS, VT, Hl7Error, MllpListener, frame, parse_hl7_time, parse_oru
from core.vitals.qrs import detect_qrs
from core.vitals.replay import ReplayError, ReplaySource, load_csv, load_recording, load_wfdb
from core.vitals.signals import Numeric, Wave
from core.vitals.simulator import Scenario, Simulator
from core.vitals.stream import ProtocolError, StreamReceiver, StreamSender, decode, encode_wave

DATA = Path(__file__).parent.parent / "data" / "vitals"

ORU = (
    "\r".join(
        [
            "MSH|^~\\&|MONITOR|ICU-3|TELECONSULT|HOSP|20260314101500+0800||ORU^R01^ORU_R01|MSG0001|P|2.5",
            "PID|||CT-2026-0042^^^HOSP||Zhang^Wei",
            "OBR|1|||MONITOR^Vital signs",
            "OBX|1|NM|8867-4^Heart rate^LN||112|/min^^UCUM|||||F|||20260314101455+0800",
            "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||91|%|||||F",
            "OBX|3|NM|8480-6^Systolic BP^LN||96|mm[Hg]|||||F",
            "OBX|4|NM|8310-5^Body temperature^LN||101.3|[degF]|||||F",
            "OBX|5|ST|99999^Comment^L||patient restless||||||F",
        ]
    )
    + "\r"
)


def exchange(port: int, payload: bytes) -> list[str]:
    """Send raw bytes over TCP and read back every MLLP-framed reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        expected = payload.count(FS + b"\r")
        data = b""
        while data.count(FS + b"\r") < expected:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return [f.lstrip(VT).decode() for f in data.split(FS + b"\r") if f]


def test_parse_oru_maps_loinc_and_mdc_codes() -> None:
    msg = parse_oru(ORU)
    assert msg.control_id == "MSG0001" and msg.patient_id == "CT-2026-0042" and msg.sending_app == "MONITOR"
    by = {o.numeric: o for o in msg.observations if o.numeric}
    assert by[Numeric.HR].value == 112
    assert by[Numeric.HR].time == pytest.approx(parse_hl7_time("20260314021455+0000"))
    assert by[Numeric.SPO2].value == 91
    assert by[Numeric.TEMP].value == pytest.approx(38.5)  # converted from Fahrenheit
    assert msg.skipped == ["99999"]


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        ("hello world", "AR", "MSH"),
        ("MSH|^~\\&|A|B|C|D|2026||ADT^A01|X1|P|2.5\r", "AR", r"only ORU\^R01"),
        (
            "MSH|^~\\&|A|B|C|D|2026||ORU^R01|X2|P|2.5\rOBX|1|NM|8867-4^HR^LN||fast|/min\r",
            "AE",
            "not a number",
        ),
        ("MSH|^~\\&|A|B|C|D|2026||ORU^R01|X3|P|2.5\rPID|||1\r", "AE", "without numeric OBX"),
        ("MSH|^~\\&|A|B|C|D|2026||ORU^R01|X4|P|2.5\rOBX|1|NM\r", "AE", "too few fields"),
    ],
)
def test_bad_messages_say_why(text: str, code: str, reason: str) -> None:
    with pytest.raises(Hl7Error, match=reason) as info:
        parse_oru(text)
    assert info.value.ack_code == code


def test_mllp_listener_acks_good_naks_bad_and_keeps_running() -> None:
    store = VitalsStore(seconds=5)
    listener = MllpListener(store, port=0)
    listener.start()
    try:
        assert listener.port > 0
        replies = exchange(listener.port, frame(ORU))
        assert "MSA|AA|MSG0001" in replies[0]
        assert store.numeric(Numeric.HR) == 112 and store.numeric(Numeric.NIBP_SYS) == 96
        bad = frame("MSH|^~\\&|A|B|C|D|2026||ORU^R01|BAD1|P|2.5\rOBX|1|NM|8867-4^HR^LN||fast|/min\r")
        garbage = b"no start block here" + FS + b"\r"
        second = frame(ORU.replace("MSG0001", "MSG0002").replace("||112|", "||64|"))
        replies = exchange(listener.port, bad + garbage + second)  # three frames in one TCP segment
        assert len(replies) == 3
        assert "MSA|AE|BAD1" in replies[0] and "ERR|" in replies[0] and "not a number" in replies[0]
        assert "MSA|AR|" in replies[1] and "start block" in replies[1]
        assert "MSA|AA|MSG0002" in replies[2]
        assert store.numeric(Numeric.HR) == 64
        # a frame split across TCP writes still parses
        data = frame(ORU.replace("MSG0001", "MSG0003"))
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
            sock.sendall(data[:40])
            sock.sendall(data[40:])
            reply = sock.recv(65536)
        assert b"MSA|AA|MSG0003" in reply
        assert listener.received == 3 and len(listener.errors) == 2
    finally:
        listener.close()
        listener.close()


def test_wfdb_record_qrs_accuracy_against_its_annotations() -> None:
    rec = load_wfdb(DATA / "af_noisy")
    assert rec.annotations_s is not None and rec.duration == pytest.approx(20.0, abs=0.01)
    ecg = rec.waves[Wave.ECG]
    assert np.isnan(ecg[0]).all()  # lead I is not in the record
    beats = detect_qrs(ecg[1], 500.0) / 500.0
    truth = rec.annotations_s[(rec.annotations_s > 0.5) & (rec.annotations_s < 19.5)]
    found = beats[(beats > 0.5) & (beats < 19.5)]
    se = np.mean([np.any(np.abs(found - t) < 0.05) for t in truth])
    ppv = np.mean([np.any(np.abs(truth - f) < 0.05) for f in found])
    assert se >= 0.98 and ppv >= 0.98


def test_csv_replay_resamples_and_plays_in_real_time(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    t = np.arange(0, 4, 1 / 250)
    rows = ["time,II,PLETH,unknown"] + [f"{x:.4f},{np.sin(x):.5f},{np.cos(x):.5f},1" for x in t]
    path.write_text("\n".join(rows))
    rec = load_recording(path)
    assert rec.waves[Wave.ECG].shape == (12, 2000) and rec.waves[Wave.PLETH].shape == (1, 500)
    now = [1000.0]
    store = VitalsStore(seconds=10, clock=lambda: now[0])
    source = ReplaySource(store, rec)
    now[0] += 1.0
    source.step()
    assert store.rings[Wave.ECG].total == 500
    now[0] += 5.0  # loops past the end
    source.step()
    assert store.rings[Wave.PLETH].total == 750
    np.testing.assert_allclose(
        store.rings[Wave.PLETH].latest(1).values[0, 0], np.cos(1.992), atol=1e-3
    )  # 6 s into a 4 s loop


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("II,PLETH\n1,2\n", "first column must be 'time'"),
        ("time,II\n0,1\n0.004,2,3\n", "line 3"),
        ("time,II\n0,1\n0.004,abc\n", "line 3"),
        ("time,II\n0,1\n0.004,1\n0.1,1\n", "constant step"),
        ("time,foo\n0,1\n0.004,1\n", "known signal"),
    ],
)
def test_bad_csv_gives_a_clear_error(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ReplayError, match=reason):
        load_csv(path)


def test_bad_wfdb_gives_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "junk.hea").write_text("this is not a header\n")
    with pytest.raises(ReplayError, match="not a readable WFDB record"):
        load_wfdb(tmp_path / "junk")


def test_wave_batch_roundtrip_and_size() -> None:
    values = np.vstack([np.linspace(-1, 1, 50)] * 12)
    values[3, 7] = np.nan
    data = encode_wave(9, Wave.ECG, 1234, 1e9, values)
    assert len(data) < 30 + 12 * 50 * 2  # 2 bytes a sample
    batch = decode(data)
    assert not isinstance(batch, tuple)
    assert (batch.seq, batch.wave, batch.first_index, batch.t_first) == (9, Wave.ECG, 1234, 1e9)
    assert np.isnan(batch.values[3, 7])
    np.testing.assert_allclose(np.nan_to_num(batch.values), np.nan_to_num(values), atol=0.0005)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "bad magic"),
        (b"XX\x01\x01" + bytes(40), "bad magic"),
        (b"VS\x09\x01" + bytes(40), "version"),
        (encode_wave(1, Wave.PLETH, 0, 0.0, np.zeros(10))[:-3], "data bytes"),
        (b"VS\x01\x07" + bytes(10), "unknown batch kind"),
    ],
)
def test_malformed_batches_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        decode(data)


def test_stream_over_a_lossy_reordering_channel_marks_gaps() -> None:
    now = [5000.0]
    sender_store = VitalsStore(seconds=30, clock=lambda: now[0])
    receiver_store = VitalsStore(seconds=30, clock=lambda: now[0] + 0.05)
    sim = Simulator(Scenario.NORMAL, seed=1, t0=4990.0)
    sender = StreamSender(sender_store, max_s=0.1)
    receiver = StreamReceiver(receiver_store)
    rng = np.random.default_rng(8)
    dropped: list[bytes] = []
    held: list[bytes] = []
    for step in range(1, 101):  # 10 s in 100 ms polls
        sim.write_until(sender_store, step * 0.1)
        for batch in sender.poll():
            r = rng.random()
            if r < 0.1 and 2 < step < 100:
                dropped.append(batch)
            elif r < 0.15 and step < 100:
                held.append(batch)  # delivered one poll late (reordered)
            else:
                receiver.feed(batch)
        for batch in held:
            receiver.feed(batch)
        held.clear()
        receiver.feed(b"garbage from a confused peer")
    assert len(receiver.errors) == 100
    assert receiver.lost_batches == len(dropped)
    src, dst = sender_store.rings[Wave.ECG], receiver_store.rings[Wave.ECG]
    assert dst.total == src.total
    a, b = src.latest(src.total), dst.latest(dst.total)
    lost = np.isnan(b.values[1])
    dropped_ecg = [decode(d) for d in dropped]
    n_lost_expected = 0
    for d in dropped_ecg:
        if not isinstance(d, tuple) and d.wave is Wave.ECG:
            n_lost_expected += d.values.shape[1]
            assert lost[d.first_index - b.start : d.first_index - b.start + d.values.shape[1]].all()
    # late batches land after their place was marked lost; everything else arrived exactly
    assert lost.sum() >= n_lost_expected
    np.testing.assert_allclose(b.values[:, ~lost], a.values[:, ~lost], atol=0.0006)
    np.testing.assert_allclose(b.times, a.times)
    assert receiver_store.numeric(Numeric.SPO2) == sender_store.numeric(Numeric.SPO2)
    assert receiver_store.newest_age() == pytest.approx(0.05 + 0.002, abs=0.01)
    assert dst.gap_samples == lost.sum()
