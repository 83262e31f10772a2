"""MLLP framing (<VT> message <FS><CR>) with resynchronisation, as a pure byte-stream deframer.

Every bad frame yields exactly one error and the stream resynchronises:

* a start block inside an unfinished frame ends that frame as truncated (one error) and a new frame
  starts there, so a good message after a truncated one keeps its own header and patient;
* an end block with no start block before it is one error ("no start block");
* a frame longer than ``max_frame`` is one error ("frame too large"); its bytes are discarded up to its
  end block (or the next start block) without buffering them, and the next frame is read normally.
"""

from __future__ import annotations

from dataclasses import dataclass

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
END = FS + CR
MAX_FRAME = 1 << 20


@dataclass(frozen=True)
class FrameEvent:
    """A complete frame (``error`` empty) or a bad one; ``payload`` is (the start of) its content."""

    payload: bytes
    error: str = ""


class Deframer:
    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = b""
        self._discarding = False

    @property
    def pending(self) -> bool:
        """Whether an unfinished frame is buffered (the connection closing now truncates it)."""
        return self._buf.startswith(VT) and not self._discarding

    def feed(self, data: bytes) -> list[FrameEvent]:
        self._buf += data
        events: list[FrameEvent] = []
        while True:
            buf = self._buf
            if self._discarding:
                vt, end = buf.find(VT), buf.find(END)
                if vt >= 0 and (end < 0 or vt < end):
                    self._buf, self._discarding = buf[vt:], False
                elif end >= 0:
                    self._buf, self._discarding = buf[end + 2 :], False
                else:
                    self._buf = buf[-1:] if buf.endswith(FS) else b""
                    break
                continue
            first, end = buf.find(VT), buf.find(END)
            if end >= 0 and (first < 0 or end < first):
                events.append(FrameEvent(buf[:end][:4096], "MLLP frame without start block"))
                self._buf = buf[end + 2 :]
                continue
            if first < 0:  # bytes between frames: keep only a possible half of an end block
                self._buf = buf[-1:] if buf.endswith(FS) else b""
                break
            buf = self._buf = buf[first:]
            end = buf.find(END)
            nxt = buf.find(VT, 1)
            if nxt >= 0 and (end < 0 or nxt < end):
                events.append(FrameEvent(buf[1:nxt][:4096], "truncated MLLP frame (no end block)"))
                self._buf = buf[nxt:]
                continue
            if end >= 0:
                if end - 1 > self.max_frame:
                    events.append(FrameEvent(buf[1:4097], "frame too large"))
                else:
                    events.append(FrameEvent(buf[1:end]))
                self._buf = buf[end + 2 :]
                continue
            if len(buf) - 1 > self.max_frame:
                events.append(FrameEvent(buf[1:4097], "frame too large"))
                self._buf, self._discarding = (buf[-1:] if buf.endswith(FS) else b""), True
            break
        return events
