"""The HL7 MLLP listener at its limits, over real sockets: a frame above ``max_frame`` sent by python-hl7's
MLLPClient, a frame whose end block never comes (streamed far past the limit), a flood of bad frames.
Each is refused with one NAK, memory stays bounded, and other clients are served meanwhile."""

from __future__ import annotations

import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from hl7.client import MLLPClient

from core.vitals.buffer import VitalsStore
from core.vitals.hl7 import FS, VT, MllpListener, frame
from core.vitals.mllp import MAX_FRAME
from core.vitals.signals import Numeric

MiB = 1024 * 1024


def oru(control: str, heart_rate: int = 70, note: str = "") -> str:
    nte = f"NTE|1||{note}\r" if note else ""
    return (
        f"MSH|^~\\&|MONITOR|ICU-3|TELECONSULT|HOSP|20260314101500||ORU^R01^ORU_R01|{control}|P|2.5\r"
        "PID|||CT-1^^^HOSP||Zhang^Wei\r"
        "OBR|1|||VS^Vital signs\r"
        f"OBX|1|NM|8867-4^Heart rate^LN||{heart_rate}|/min|||||F\r" + nte
    )


def msa(ack: str) -> tuple[str, str]:
    fields = next(s for s in ack.strip("\x0b\x1c\r").split("\r") if s.startswith("MSA")).split("|")
    return fields[1], fields[2]


def send(port: int, message: str) -> tuple[str, str]:
    with MLLPClient("127.0.0.1", port) as client:
        client.socket.settimeout(10)
        return msa(client.send_message(message).decode())


@pytest.fixture
def listener() -> Iterator[MllpListener]:
    lst = MllpListener(VitalsStore(seconds=10), port=0, idle_timeout_s=2.0)
    lst.start()
    yield lst
    lst.close()


def test_a_message_over_the_limit_from_an_mllp_client_is_refused_and_the_connection_goes_on(
    listener: MllpListener,
) -> None:
    with MLLPClient("127.0.0.1", listener.port) as client:
        client.socket.settimeout(20)
        big = oru("BIG", note="N" * (MAX_FRAME + 1))
        code, control = msa(client.send_message(big).decode())
        assert (code, control) == ("AR", "BIG")
        # exactly at the limit is still a frame, and the same connection keeps working
        at_limit = oru("EDGE", 71)
        at_limit += "NTE|2||" + "n" * (MAX_FRAME - len(at_limit.encode()) - 8) + "\r"
        assert len(at_limit.encode()) == MAX_FRAME
        assert msa(client.send_message(at_limit).decode()) == ("AA", "EDGE")
        assert msa(client.send_message(oru("AFTER", 72)).decode()) == ("AA", "AFTER")
    assert listener.errors == ["frame too large"]
    assert listener.store.numeric(Numeric.HR) == 72 and listener.received == 2


def test_a_frame_that_never_ends_is_refused_once_with_bounded_memory_while_others_are_served(
    listener: MllpListener,
) -> None:
    chunk = b"X" * (256 * 1024)
    streamed = 64 * MiB
    acks: list[bytes] = []
    sender_error: list[BaseException] = []
    finished = threading.Event()

    def endless() -> None:
        try:
            with socket.create_connection(("127.0.0.1", listener.port), timeout=20) as sock:
                sock.sendall(VT + b"MSH|^~\\&|A|B|C|D|20260314||ORU^R01|ENDLESS|P|2.5\r")
                for _ in range(streamed // len(chunk)):
                    sock.sendall(chunk)
                finished.set()
                # then silence: the idle timeout closes the connection; the one NAK came before that
                data = b""
                while True:
                    got = sock.recv(65536)
                    if not got:
                        break
                    data += got
                acks.append(data)
        except BaseException as exc:  # reported to the test thread
            sender_error.append(exc)
            finished.set()

    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        thread = threading.Thread(target=endless, daemon=True)
        thread.start()
        served: list[tuple[str, str]] = []
        while not finished.is_set():  # another monitor keeps being answered meanwhile
            served.append(send(listener.port, oru(f"OTHER{len(served)}", 60 + len(served) % 30)))
        thread.join(30)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert not sender_error, sender_error
    assert not thread.is_alive()
    assert served and all(code == "AA" for code, _ in served)
    # the listener held at most about one frame's worth, not the 64 MiB it was sent
    assert peak < 4 * MAX_FRAME + 4 * MiB, f"peak {peak / MiB:.1f} MiB"
    [data] = acks
    frames = [f for f in data.split(FS + b"\r") if f.strip()]
    assert len(frames) == 1 and msa(frames[0].decode()) == ("AR", "ENDLESS")
    assert listener.errors == ["frame too large"] and listener.idle_closed == 1
    assert send(listener.port, oru("LATER", 99)) == ("AA", "LATER")


def test_a_flood_of_bad_frames_keeps_the_listener_and_its_log_small(
    listener: MllpListener, caplog: pytest.LogCaptureFixture
) -> None:
    count = 20_000
    caplog.set_level(logging.WARNING, logger="core.vitals.hl7")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
        received = bytearray()

        def read() -> None:
            while received.count(FS + b"\r") < count:
                got = sock.recv(1 << 20)
                if not got:
                    break
                received.extend(got)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        sock.sendall((b"junk" + FS + b"\r") * count)  # end blocks without start blocks
        reader.join(60)
    assert received.count(FS + b"\r") == count  # every bad frame answered
    assert listener.error_count == count
    assert 0 < len(listener.errors) <= 2 * MllpListener.KEPT_ERRORS  # not one string per frame forever
    assert send(listener.port, oru("FINE")) == ("AA", "FINE")
    summary = f"{count - MllpListener.LOGGED_ERRORS} more rejected messages not logged"
    deadline = time.monotonic() + 5  # logged when the listener sees the connection close
    while not any(summary in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if r.name == "core.vitals.hl7"]
    assert sum("rejected:" in line for line in lines) == MllpListener.LOGGED_ERRORS
    assert any(summary in line for line in lines)


def test_a_frame_cut_by_the_sender_closing_is_dropped_and_the_listener_goes_on(
    listener: MllpListener,
) -> None:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        sock.sendall(frame(oru("CUT"))[:-2])  # no end block, then the connection closes
    deadline = time.monotonic() + 5
    while listener.received == 0 and time.monotonic() < deadline:
        assert send(listener.port, oru("NEXT", 80)) == ("AA", "NEXT")
    assert listener.received == 1 and listener.store.numeric(Numeric.HR) == 80
