"""Property-based tests of the parsers that read what other machines send: the HL7 v2 parser and MLLP
deframer (monitors), the room's signalling message model (browsers and workstations), and the data
channel envelope decoder (peers). Whatever arrives, each answers with its own refusal, never a crash."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from backend.schemas import SignalIn
from core.vitals.hl7 import (
    Header,
    Hl7Error,
    make_ack,
    parse_header,
    parse_hl7_time,
    parse_oru,
)
from core.vitals.mllp import CR, FS, VT, Deframer
from core.vitals.signals import Numeric
from rtc.channels import CHANNELS, ChannelMessage, decode, encode, make_envelope

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = 1_773_454_500.0  # 2026-03-14

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)

# --- HL7 -------------------------------------------------------------------------------------------------

HL7_TOKENS = st.sampled_from([*"MSHPIDOBRXNTE|^~\\&\r\n 0123456789.-+:ZAU/", "ORU", "R01", "NM", "LN"])
hl7_field = st.lists(HL7_TOKENS, max_size=10).map("".join)
segment_names = st.sampled_from(["MSH", "PID", "OBR", "OBX", "NTE", "PV1", "ZZZ", ""])


@st.composite
def hl7_like(draw: st.DrawFn) -> str:
    """Text shaped like HL7 (MSH first, known segment names, many delimiters) with arbitrary fields."""
    msh_fields = draw(st.lists(hl7_field, max_size=14))
    if draw(st.booleans()):
        msh_fields[8:9] = ["ORU^R01"]
    text = "MSH" + draw(st.sampled_from(["|", "^", "#", "\\"])) + "|".join(["^~\\&", *msh_fields])
    for _ in range(draw(st.integers(0, 6))):
        name = draw(segment_names)
        fields = draw(st.lists(hl7_field, max_size=16))
        text += draw(st.sampled_from(["\r", "\n", "\r\n"])) + "|".join([name, *fields])
    return text


def _parse_only_hl7_errors(text: str) -> None:
    error: Hl7Error | None = None
    try:
        message = parse_oru(text, None, NOW)
    except Hl7Error as exc:  # anything else fails the test
        error = exc
    if error is None:
        assert message.observations
        return
    assert error.ack_code in ("AR", "AE")
    assert make_ack(parse_header(text), error.ack_code, str(error), error.err_code).startswith("MSH|")


@PROPERTY
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_hl7_error(data: bytes) -> None:
    text = data.decode("latin-1")
    parse_header(text)  # never raises
    _parse_only_hl7_errors(text)


@PROPERTY
@given(hl7_like())
@example("MSH|^~\\&|||||||ORU^R01|1|P|2.5\rOBX|1|NM|8867-4^HR^LN||88|/min|||||F")
@example("MSH|^~\\&|||||||ORU^R01|1|P|2.5\rOBX|1|NM|8867-4^HR^LN||88|/min|||||F|||2026\r")
@example("MSH|^~\\&|||||||ORU^R01|1|P|2.5\rOBX|1|NM|8867-4^HR^LN||1e999|/min|||||F")
@example("MSH|^~\\&|||||||ORU^R01|1|P|2.5\rOBX|1|NM|8867-4^HR^LN||nan|/min|||||F")
@example("MSH^^~\\&|||||||ORU^R01|1|P|2.5")
def test_hl7_shaped_text_raises_only_hl7_error(text: str) -> None:
    _parse_only_hl7_errors(text)


@PROPERTY
@given(st.text(st.sampled_from(list("0123456789+-.ZT: ")), max_size=30))
@example("20261399")
@example("2026031410150099999")
@example("99999999999999")
def test_timestamps_parse_or_raise_hl7_error(text: str) -> None:
    try:
        value = parse_hl7_time(text)
    except Hl7Error as exc:
        value, code = None, exc.err_code
    else:
        code = "102"
    assert code == "102"
    assert value is None or math.isfinite(value)


@PROPERTY
@given(st.floats(min_value=0, max_value=300, allow_nan=False).map(lambda v: round(v, 1)))
def test_a_built_oru_round_trips_its_value(heart_rate: float) -> None:
    text = (
        "MSH|^~\\&|MONITOR|ICU-3|TELECONSULT|HOSP|20260314101500||ORU^R01^ORU_R01|C1|P|2.5\r"
        "PID|||CT-1^^^HOSP||Zhang^Wei\rOBR|1|||VS^Vital signs\r"
        f"OBX|1|NM|8867-4^Heart rate^LN||{heart_rate}|/min|||||F\r"
    )
    message = parse_oru(text, None, NOW)
    [observation] = [o for o in message.observations if o.numeric is Numeric.HR]
    assert observation.value == pytest.approx(heart_rate)
    assert message.control_id == "C1" and message.patient_id == "CT-1"


field_text = st.text(st.characters(codec="utf-8", exclude_characters="|^~\\&\r\n"), max_size=20).map(
    str.strip
)


@PROPERTY
@given(
    field_text,
    field_text,
    field_text,
    field_text,
    field_text,
    st.sampled_from(["2.3", "2.3.1", "2.5", "2.7"]),
    st.sampled_from(["P", "T", "D"]),
)
def test_an_ack_mirrors_the_header_it_answers(
    control: str, s_app: str, s_fac: str, r_app: str, r_fac: str, version: str, processing: str
) -> None:
    header = Header(
        control_id=control,
        sending_app=s_app,
        sending_facility=s_fac,
        receiving_app=r_app,
        receiving_facility=r_fac,
        processing_id=processing,
        version=version,
    )
    back = parse_header(make_ack(header, "AE", "a | reason ^ with & delimiters ~ \\", "207"))
    assert (back.sending_app, back.sending_facility) == (r_app or "TELECONSULT", r_fac)
    assert (back.receiving_app, back.receiving_facility) == (s_app, s_fac)
    assert (back.version, back.processing_id) == (version, processing)
    ack = make_ack(header, "AA")
    msa = next(s for s in ack.split("\r") if s.startswith("MSA")).split("|")
    assert msa[1:3] == ["AA", control]


payloads = st.binary(max_size=300).filter(lambda b: VT not in b and FS + CR not in b and not b.endswith(FS))


@PROPERTY
@given(st.lists(payloads, min_size=1, max_size=6), st.integers(1, 64))
def test_frames_round_trip_through_the_deframer_in_any_chunking(messages: list[bytes], chunk: int) -> None:
    stream = b"".join(VT + m + FS + CR for m in messages)
    deframer = Deframer(max_frame=1000)
    events = []
    for at in range(0, len(stream), chunk):
        events.extend(deframer.feed(stream[at : at + chunk]))
    assert [(e.payload, e.error) for e in events] == [(m, "") for m in messages]
    assert not deframer.pending


@PROPERTY
@given(st.lists(st.binary(max_size=200) | st.sampled_from([VT, FS, CR, FS + CR]), max_size=30))
def test_the_deframer_never_raises_and_stays_bounded(chunks: list[bytes]) -> None:
    deframer = Deframer(max_frame=64)
    for piece in chunks:
        for event in deframer.feed(piece):
            assert len(event.payload) <= 4096
            assert event.error in ("", "frame too large", "MLLP frame without start block",
                                   "truncated MLLP frame (no end block)")  # fmt: skip
            if not event.error:
                assert len(event.payload) <= 64
        assert len(deframer._buf) <= 64 + 200 + 1


# --- signalling: SignalIn ------------------------------------------------------------------------------


@st.composite
def signal_like(draw: st.DrawFn) -> Any:
    """Mostly objects with the right keys and arbitrary values, some arbitrary JSON."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    message: dict[str, Any] = {
        "v": draw(st.sampled_from([1, 1.0, True, "1", 2, None])),
        "type": draw(st.sampled_from(["offer", "answer", "candidate", "bye", "message", "auth", 7])),
    }
    if draw(st.booleans()):
        message["to"] = draw(st.none() | st.text(max_size=70) | st.integers())
    message["payload"] = draw(
        json_values
        | st.fixed_dictionaries(
            {"type": st.sampled_from(["offer", "answer", "pranswer", 3]), "sdp": st.text(max_size=60)}
        )
        | st.fixed_dictionaries(
            {
                "candidate": st.text(max_size=60),
                "sdpMid": st.none() | st.text(max_size=5),
                "sdpMLineIndex": st.none() | st.integers(),
            }
        )
    )
    if draw(st.booleans()):
        message[draw(st.text(max_size=8))] = draw(json_values)
    return message


@PROPERTY
@given(signal_like())
@example({"v": 1, "type": "offer", "payload": {"type": "offer", "sdp": "v=0\r\n"}})
@example({"v": 1, "type": "candidate", "payload": {"candidate": "\ud800"}})
def test_signal_messages_validate_or_raise_validation_error_only(data: Any) -> None:
    try:
        message: SignalIn | None = SignalIn.model_validate(data)
    except ValidationError as exc:  # anything else fails the test
        message, problems = None, exc.errors()
    if message is None:
        assert problems  # a list of problems the room puts in its error reply
        json.dumps([str(p["msg"]) for p in problems])
    else:
        assert message.v == 1 and message.type in ("offer", "answer", "candidate", "bye", "message")


# --- data channels: envelope decoding -------------------------------------------------------------------


channel_names = st.sampled_from(sorted(CHANNELS))


@st.composite
def envelope_like(draw: st.DrawFn) -> str:
    envelope: dict[str, Any] = {
        "v": draw(st.sampled_from([1, 2, "1", True])),
        "channel": draw(channel_names | st.text(max_size=8)),
        "kind": draw(st.text(max_size=70)),
        "seq": draw(st.integers(-5, 2**70)),
        "sent_at": draw(st.floats() | st.integers() | st.text(max_size=5)),
        "body": draw(json_values),
    }
    if draw(st.booleans()):
        envelope.pop(draw(st.sampled_from(sorted(envelope))))
    return json.dumps(envelope)


@PROPERTY
@given(
    channel_names,
    st.binary(max_size=500) | st.text(max_size=500) | envelope_like() | json_values.map(json.dumps),
)
@example("chat", "[" * 100_000)
@example(
    "chat", '{"v": 1, "channel": "chat", "kind": "t", "seq": 0, "sent_at": 1e999, "body": {"text": "x"}}'
)
@example("chat", b"\xff\xfe")
def test_channel_frames_decode_or_are_refused_without_raising(channel: str, raw: str | bytes) -> None:
    result = decode(channel, raw)  # type: ignore[arg-type]
    assert result is None or isinstance(result, ChannelMessage)
    if result is not None and result.envelope is not None:
        assert result.envelope.channel == channel
        result.body  # noqa: B018  (the typed body validates too)


@PROPERTY
@given(st.text(min_size=1, max_size=200))
def test_a_chat_envelope_round_trips(text: str) -> None:
    assume(text.strip())
    try:
        envelope = make_envelope("chat", "message", {"text": text}, seq=3)
    except ValidationError:
        return  # refused on the way out already
    back = decode("chat", encode(envelope))
    assert back is not None and back.envelope == envelope
