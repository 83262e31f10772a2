"""The annotation document: a replicated set of shapes that converges at every site.

Every change is an operation (a JSON-able dict) stamped ``(lamport, site)``. The state is a per-field
last-writer-wins map per annotation id plus an "alive" register (add sets it, delete clears it: a
tombstone that beats older updates) and a set of clears; merging is commutative, associative and
idempotent, so every site that has seen the same operations shows the same annotations whatever the
order they arrived in. A clear hides what was added before it (by stamp) in its space; undoing a clear
switches it off again.

Operation dicts (``op_emitted`` gives them, ``apply_remote`` takes them)::

    {"op": "add" | "update" | "delete" | "clear" | "pointer", "id": str, "author": str, "site": str,
     "lamport": int, "space": "video" | "patient" | "all", "data": {...}}

* add: ``data`` holds every field (kind, points, colour, text, width, pressure, anchored, frame,
  study_uid, series_uid); update: the changed fields (kind, study and series are fixed); delete: ``{}``;
* clear: ``{"active": bool, "at": [lamport, site]}`` (``at`` is the clear's own creation stamp);
* pointer: ``{"point": [...]}``, ephemeral, never stored, ``lamport`` not ticked.

Points per kind (video: normalised ``(x, y)``, origin top-left; patient: LPS millimetres
``(x, y, z)``): arrow ``[tail, head]``, ellipse ``[corner, opposite corner]`` of its bounding box,
stroke (freehand, ``pressure`` 0..1 per point or empty) and polyline ``[p0, p1, ...]``, marker / text /
landmark / label ``[p]`` (``text`` carries the words), ruler ``[a, b]``, needle ``[entry, target]`` or
``[entry, target, tip]``, trajectory ``[entry, target]``, plane ``[centre, p1, p2]`` (three points on it).
"""

from __future__ import annotations

import json
import math
import re
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from core.observable import Event

Space = Literal["video", "patient"]
Kind = Literal[
    "arrow",
    "ellipse",
    "stroke",
    "polyline",
    "marker",
    "text",
    "ruler",
    "needle",
    "pointer",
    "landmark",
    "trajectory",
    "plane",
    "label",
]
OpName = Literal["add", "update", "delete", "clear", "pointer"]

SPACES: Final[tuple[str, ...]] = get_args(Space)
KINDS: Final[tuple[str, ...]] = get_args(Kind)
STORED_KINDS: Final[tuple[str, ...]] = tuple(k for k in KINDS if k != "pointer")
OPS: Final[tuple[str, ...]] = get_args(OpName)

MAX_POINTS: Final = 2000
MAX_TEXT: Final = 1000
MAX_ID: Final = 128
MAX_OP_BYTES: Final = 60 * 1024  # one op must fit a data-channel message (rtc.channels.MAX_TEXT_BYTES)
VIDEO_RANGE: Final = (-0.5, 1.5)
PATIENT_LIMIT_MM: Final = 5000.0
MAX_LAMPORT: Final = 2**31  # the backend stores it as a 32-bit integer
# A peer's clock may run ahead of ours, but not by this much: a hostile op stamped near MAX_LAMPORT
# would otherwise drag our clock up until our own next operation no longer had a valid stamp.
MAX_LAMPORT_JUMP: Final = 1_000_000
WIDTH_RANGE: Final = (0.1, 50.0)
_DIGITS: Final[dict[str, int]] = {"video": 4, "patient": 2}  # 1e-4 of the picture, 10 µm

# (min, max) number of points per kind
POINT_COUNTS: Final[dict[str, tuple[int, int]]] = {
    "arrow": (2, 2),
    "ellipse": (2, 2),
    "stroke": (1, MAX_POINTS),
    "polyline": (1, MAX_POINTS),
    "marker": (1, 1),
    "text": (1, 1),
    "ruler": (2, 2),
    "needle": (2, 3),
    "pointer": (1, 1),
    "landmark": (1, 1),
    "trajectory": (2, 2),
    "plane": (3, 3),
    "label": (1, 1),
}

AUTHOR_COLOURS: Final[tuple[str, ...]] = (
    "#ffd60a",  # yellow
    "#00e5ff",  # cyan
    "#ff4fa3",  # magenta
    "#7cff4f",  # green
    "#ff8c1a",  # orange
    "#b388ff",  # violet
    "#ffffff",  # white
    "#ff5252",  # red
)

_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_MUTABLE: Final = frozenset({"points", "colour", "text", "width", "pressure", "anchored", "frame"})
_FIELDS: Final = (
    "kind",
    "points",
    "colour",
    "text",
    "width",
    "pressure",
    "anchored",
    "frame",
    "study_uid",
    "series_uid",
)

Point = tuple[float, ...]
Stamp = tuple[int, str]


def colour_for(author: str) -> str:
    """A stable colour per author (the same at every site and every run)."""
    return AUTHOR_COLOURS[zlib.crc32(author.encode("utf-8")) % len(AUTHOR_COLOURS)]


@dataclass(frozen=True)
class Annotation:
    id: str
    author: str
    kind: Kind
    space: Space
    points: tuple[tuple[float, ...], ...]
    colour: str
    text: str = ""
    width: float = 2.0
    pressure: tuple[float, ...] = ()
    anchored: bool = False
    frame: str = ""  # frozen-frame id, or "" for the live picture
    study_uid: str = ""
    series_uid: str = ""
    lamport: int = 0


class InvalidOperationError(ValueError):
    """An operation (local or remote) that breaks the rules; the message says which."""


@dataclass
class _Record:
    id: str
    author: str
    space: str
    fields: dict[str, tuple[Any, Stamp]] = field(default_factory=dict)
    alive: tuple[bool, Stamp] = (False, (-1, ""))


@dataclass
class _Clear:
    id: str
    author: str
    scope: str  # "video", "patient" or "all"
    at: Stamp
    active: tuple[bool, Stamp]


# --- validation ---------------------------------------------------------------------------------------


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidOperationError(f"not a finite number: {value!r}"[:120])
    return float(value)


def _check_str(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidOperationError(f"{name} must be a string")
    if len(value) > limit:
        raise InvalidOperationError(f"{name} too long ({len(value)} > {limit})")
    return value


def _points(space: str, value: Any) -> tuple[Point, ...]:
    if not isinstance(value, (list, tuple)):
        raise InvalidOperationError("points must be a list")
    if len(value) > MAX_POINTS:
        raise InvalidOperationError(f"too many points ({len(value)} > {MAX_POINTS})")
    dims = 2 if space == "video" else 3
    digits = _DIGITS[space]
    out: list[Point] = []
    for raw in value:
        if not isinstance(raw, (list, tuple)) or len(raw) != dims:
            raise InvalidOperationError(f"a {space} point has {dims} coordinates")
        coords = tuple(round(_finite(c), digits) for c in raw)
        if space == "video":
            if not all(VIDEO_RANGE[0] <= c <= VIDEO_RANGE[1] for c in coords):
                raise InvalidOperationError(f"video point out of range: {coords}")
        elif not all(abs(c) <= PATIENT_LIMIT_MM for c in coords):
            raise InvalidOperationError(f"patient point beyond ±{PATIENT_LIMIT_MM:g} mm: {coords}")
        out.append(coords)
    return tuple(out)


def _check_count(kind: str, points: tuple[Point, ...]) -> None:
    low, high = POINT_COUNTS[kind]
    if not low <= len(points) <= high:
        raise InvalidOperationError(f"{kind} takes {low}..{high} points, got {len(points)}")


def _field(space: str, name: str, value: Any) -> Any:
    """One field's value, validated and normalised (rounded, tuples for lists)."""
    if name == "kind":
        if value not in STORED_KINDS:
            raise InvalidOperationError(f"unknown kind: {value!r}"[:120])
        return value
    if name == "points":
        return _points(space, value)
    if name == "colour":
        if not isinstance(value, str) or not _COLOUR_RE.match(value):
            raise InvalidOperationError(f"colour must be #rrggbb: {value!r}"[:120])
        return value.lower()
    if name == "text":
        return _check_str("text", value, MAX_TEXT)
    if name == "width":
        width = _finite(value)
        if not WIDTH_RANGE[0] <= width <= WIDTH_RANGE[1]:
            raise InvalidOperationError(f"width out of range: {width}")
        return round(width, 2)
    if name == "pressure":
        if not isinstance(value, (list, tuple)) or len(value) > MAX_POINTS:
            raise InvalidOperationError("pressure must be a list of at most MAX_POINTS values")
        pressure = tuple(round(_finite(p), 3) for p in value)
        if not all(0.0 <= p <= 1.0 for p in pressure):
            raise InvalidOperationError("pressure values lie in 0..1")
        return pressure
    if name == "anchored":
        if not isinstance(value, bool):
            raise InvalidOperationError("anchored must be true or false")
        return value
    if name in ("frame", "study_uid", "series_uid"):
        return _check_str(name, value, MAX_ID)
    raise InvalidOperationError(f"unknown field: {name!r}"[:120])


def _validate_fields(space: str, data: Any, *, full: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidOperationError("data must be an object")
    allowed = set(_FIELDS) if full else _MUTABLE
    unknown = set(data) - allowed
    if unknown:
        raise InvalidOperationError(f"fields not allowed here: {sorted(unknown)}"[:160])
    if full and "kind" not in data:
        raise InvalidOperationError("add needs a kind")
    out = {name: _field(space, name, value) for name, value in data.items()}
    if "kind" in out and "points" in out:
        _check_count(out["kind"], out["points"])
    if "points" in out and out.get("pressure") and len(out["pressure"]) != len(out["points"]):
        raise InvalidOperationError("pressure needs one value per point")
    return out


def _wire(value: Any) -> Any:
    """Tuples to lists, recursively, so op dicts are plain JSON."""
    if isinstance(value, tuple):
        return [_wire(v) for v in value]
    return value


# --- the document -------------------------------------------------------------------------------------


@dataclass
class _Step:
    """One undoable local step on an annotation (``before``/``after`` None = absent) or a clear."""

    id: str
    space: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    clear: bool = False


class AnnotationDocument:
    """The annotations of one consultation as this site sees them. Mutate on one thread (the UI's)."""

    def __init__(self, site: str, author: str) -> None:
        if not site or len(site) > MAX_ID:
            raise ValueError("site must be a non-empty string of at most 128 characters")
        self.site = site
        self.author = author
        self.clock = 0
        self._records: dict[str, _Record] = {}
        self._clears: dict[str, _Clear] = {}
        self._cache: list[Annotation] | None = None
        self._by_id: dict[str, Annotation] = {}
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self.changed: Event[[]] = Event()
        self.op_emitted: Event[[dict[str, Any]]] = Event()
        self.rejected: Event[[str]] = Event()
        self.pointer_moved: Event[[tuple[str, str, tuple[float, ...]]]] = Event()

    def set_author(self, author: str) -> None:
        """A different user signs in here: what is ours to undo changes with it."""
        if author != self.author:
            self.author = author
            self._undo.clear()
            self._redo.clear()

    def reset(self) -> None:
        """Forget everything (a different consult opens). Local only: no operation goes out."""
        self._records.clear()
        self._clears.clear()
        self._undo.clear()
        self._redo.clear()
        self._changed()

    # --- reading ---

    @property
    def annotations(self) -> list[Annotation]:
        """The live annotations, oldest first (by the stamp of their last add)."""
        return list(self._built())

    def get(self, annotation_id: str) -> Annotation | None:
        self._built()
        return self._by_id.get(annotation_id)

    def _built(self) -> list[Annotation]:
        if self._cache is None:
            visible = [r for r in self._records.values() if self._visible(r)]
            visible.sort(key=lambda r: r.alive[1])
            self._cache = [self._build(r) for r in visible]
            self._by_id = {a.id: a for a in self._cache}
        return self._cache

    def in_space(self, space: Space) -> list[Annotation]:
        return [a for a in self.annotations if a.space == space]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # --- local operations ---

    def add(self, kind: Kind, space: Space, points: Any, **fields: Any) -> Annotation:
        """Add a shape of ours; raises :class:`InvalidOperationError` (a ValueError) on a bad shape."""
        if space not in SPACES:
            raise InvalidOperationError(f"unknown space: {space!r}")
        data: dict[str, Any] = {
            "kind": kind,
            "points": points,
            "colour": colour_for(self.author),
            "text": "",
            "width": 2.0,
            "pressure": (),
            "anchored": False,
            "frame": "",
            "study_uid": "",
            "series_uid": "",
        }
        data.update(fields)
        clean = _validate_fields(space, data, full=True)
        annotation_id = uuid.uuid4().hex
        self._local("add", annotation_id, space, clean)
        self._push(_Step(annotation_id, space, None, clean))
        result = self.get(annotation_id)
        assert result is not None
        return result

    def update(self, annotation_id: str, **fields: Any) -> Annotation | None:
        """Change fields of one of our visible annotations; None when there is no such annotation of ours."""
        record = self._records.get(annotation_id)
        if record is None or not self._visible(record):
            return None
        if record.author != self.author:
            self.rejected.emit(f"{annotation_id} belongs to {record.author}; only its author edits it")
            return None
        clean = _validate_fields(record.space, fields, full=False)
        if "points" in clean:
            _check_count(record.fields["kind"][0], clean["points"])
        if not clean:
            return self.get(annotation_id)
        before = {name: record.fields[name][0] for name in clean if name in record.fields}
        self._local("update", annotation_id, record.space, clean)
        self._push(_Step(annotation_id, record.space, before, clean))
        return self.get(annotation_id)

    def delete(self, annotation_id: str) -> bool:
        record = self._records.get(annotation_id)
        if record is None or not self._visible(record):
            return False
        if record.author != self.author:
            self.rejected.emit(f"{annotation_id} belongs to {record.author}; only its author deletes it")
            return False
        before = self._full(record)
        self._local("delete", annotation_id, record.space, {})
        self._push(_Step(annotation_id, record.space, before, None))
        return True

    def clear(self, space: Space | None = None) -> None:
        """Hide every annotation (everyone's) in ``space`` (all spaces when None) seen so far; undoable."""
        scope = space or "all"
        if scope not in (*SPACES, "all"):
            raise InvalidOperationError(f"unknown space: {space!r}")
        if not any(self._visible(r) and scope in ("all", r.space) for r in self._records.values()):
            return
        clear_id = uuid.uuid4().hex
        at = (self.clock + 1, self.site)
        self._local("clear", clear_id, scope, {"active": True, "at": list(at)})
        self._push(_Step(clear_id, scope, {"active": False}, {"active": True}, clear=True))

    def pointer(self, space: Space, point: Any) -> None:
        """Show where we point, briefly, at every site. Never stored, never undone."""
        try:
            (clean,) = _points(space, [point])
        except InvalidOperationError as exc:
            self.rejected.emit(f"pointer: {exc}")
            return
        op = {
            "op": "pointer",
            "id": "pointer",
            "author": self.author,
            "site": self.site,
            "lamport": self.clock,
            "space": space,
            "data": {"point": list(clean)},
        }
        self.pointer_moved.emit((self.author, space, clean))
        self.op_emitted.emit(op)

    def undo(self) -> bool:
        if not self._undo:
            return False
        step = self._undo.pop()
        self._transition(step, step.before)
        self._redo.append(step)
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        step = self._redo.pop()
        self._transition(step, step.after)
        self._undo.append(step)
        return True

    # --- remote operations and snapshots ---

    def apply_remote(self, op: Any) -> bool:
        """Merge an operation from another site. A bad one emits ``rejected`` and changes nothing."""
        try:
            changed = self._apply(op)
        except InvalidOperationError as exc:
            self.rejected.emit(str(exc))
            return False
        if changed:
            self._changed()
        return True

    def snapshot(self) -> dict[str, Any]:
        """Everything this site knows, for a late joiner (``load_snapshot`` merges it)."""
        return {
            "v": 1,
            "clock": self.clock,
            "records": [
                {
                    "id": r.id,
                    "author": r.author,
                    "space": r.space,
                    "alive": [r.alive[0], r.alive[1][0], r.alive[1][1]],
                    "fields": {n: [_wire(v), s[0], s[1]] for n, (v, s) in r.fields.items()},
                }
                for r in self._records.values()
            ],
            "clears": [
                {
                    "id": c.id,
                    "author": c.author,
                    "scope": c.scope,
                    "at": list(c.at),
                    "active": [c.active[0], c.active[1][0], c.active[1][1]],
                }
                for c in self._clears.values()
            ],
        }

    def load_snapshot(self, snapshot: Any) -> None:
        """Merge another site's snapshot (a join: what we already know is kept). Bad entries are rejected."""
        if not isinstance(snapshot, dict) or snapshot.get("v") != 1:
            self.rejected.emit("snapshot: not a version-1 snapshot")
            return
        changed = False
        for raw in snapshot.get("records") or ():
            try:
                changed |= self._merge_record(raw)
            except (InvalidOperationError, KeyError, TypeError, ValueError) as exc:
                self.rejected.emit(f"snapshot record: {exc}"[:200])
        for raw in snapshot.get("clears") or ():
            try:
                changed |= self._merge_clear_entry(raw)
            except (InvalidOperationError, KeyError, TypeError, ValueError) as exc:
                self.rejected.emit(f"snapshot clear: {exc}"[:200])
        clock = snapshot.get("clock")
        if isinstance(clock, int) and not isinstance(clock, bool) and 0 <= clock <= self._horizon():
            self.clock = max(self.clock, clock)
        if changed:
            self._changed()

    # --- internals ---

    def _horizon(self) -> int:
        return min(MAX_LAMPORT - 1, self.clock + MAX_LAMPORT_JUMP)

    def _visible(self, record: _Record) -> bool:
        if not record.alive[0] or "kind" not in record.fields:
            return False
        for c in self._clears.values():
            if c.active[0] and c.scope in ("all", record.space) and c.at > record.alive[1]:
                return False
        return True

    def _build(self, record: _Record) -> Annotation:
        f = record.fields

        def get(name: str, default: Any) -> Any:
            return f[name][0] if name in f else default

        lamport = max([record.alive[1][0], *(s[0] for _, s in f.values())])
        return Annotation(
            id=record.id,
            author=record.author,
            kind=get("kind", "marker"),
            space=record.space,  # type: ignore[arg-type]
            points=get("points", ()),
            colour=get("colour", colour_for(record.author)),
            text=get("text", ""),
            width=get("width", 2.0),
            pressure=get("pressure", ()),
            anchored=get("anchored", False),
            frame=get("frame", ""),
            study_uid=get("study_uid", ""),
            series_uid=get("series_uid", ""),
            lamport=lamport,
        )

    def _full(self, record: _Record) -> dict[str, Any]:
        return {name: value for name, (value, _) in record.fields.items()}

    def _changed(self) -> None:
        self._cache = None
        self.changed.emit()

    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        self._redo.clear()

    def _local(self, name: str, annotation_id: str, space: str, data: dict[str, Any]) -> None:
        self.clock += 1
        op = {
            "op": name,
            "id": annotation_id,
            "author": self.author,
            "site": self.site,
            "lamport": self.clock,
            "space": space,
            "data": {k: _wire(v) for k, v in data.items()},
        }
        if len(json.dumps(op, separators=(",", ":"))) > MAX_OP_BYTES:
            self.clock -= 1
            raise InvalidOperationError(f"operation larger than {MAX_OP_BYTES} bytes")
        self._apply(op)
        self._changed()
        self.op_emitted.emit(op)

    def _transition(self, step: _Step, target: dict[str, Any] | None) -> None:
        if step.clear:
            assert target is not None
            clear = self._clears[step.id]
            self._local("clear", step.id, step.space, {"active": target["active"], "at": list(clear.at)})
            return
        record = self._records.get(step.id)
        exists = record is not None and record.alive[0]
        if target is None:
            if exists:
                self._local("delete", step.id, step.space, {})
        elif not exists or (record is not None and "kind" in target and self._hidden_by_clear(record)):
            full = dict(self._full(record)) if record is not None else {}
            full.update(target)
            self._local("add", step.id, step.space, full)
        else:
            self._local("update", step.id, step.space, target)

    def _hidden_by_clear(self, record: _Record) -> bool:
        return record.alive[0] and not self._visible(record)

    def _apply(self, op: Any) -> bool:
        """Validate and merge one operation; True when the visible state may have changed."""
        if not isinstance(op, dict):
            raise InvalidOperationError("an operation is an object")
        name = op.get("op")
        if name not in OPS:
            raise InvalidOperationError(f"unknown operation: {name!r}"[:120])
        annotation_id = _check_str("id", op.get("id"), MAX_ID)
        author = _check_str("author", op.get("author"), MAX_ID)
        site = _check_str("site", op.get("site"), MAX_ID)
        if not annotation_id or not site:
            raise InvalidOperationError("id and site must not be empty")
        lamport = op.get("lamport")
        if isinstance(lamport, bool) or not isinstance(lamport, int) or not 0 <= lamport < MAX_LAMPORT:
            raise InvalidOperationError(f"bad lamport: {lamport!r}"[:120])
        if lamport > self._horizon():
            raise InvalidOperationError(f"lamport {lamport} is implausibly far ahead of {self.clock}")
        space = op.get("space")
        data = op.get("data", {})
        if not isinstance(data, dict):
            raise InvalidOperationError("data must be an object")
        if name == "pointer":
            if space not in SPACES:
                raise InvalidOperationError(f"unknown space: {space!r}"[:120])
            (point,) = _points(space, [data.get("point")])
            self.pointer_moved.emit((author, space, point))
            return False
        if name == "clear":
            return self._apply_clear(annotation_id, author, space, lamport, site, data)
        if space not in SPACES:
            raise InvalidOperationError(f"unknown space: {space!r}"[:120])
        stamp: Stamp = (lamport, site)
        record = self._records.get(annotation_id)
        if record is not None:
            if record.author != author:
                raise InvalidOperationError(f"{author} may not change {annotation_id} of {record.author}")
            if record.space != space:
                raise InvalidOperationError(f"{annotation_id} lives in {record.space}, not {space}")
        if name == "add":
            clean = _validate_fields(space, data, full=True)
            if record is not None and "kind" in record.fields and record.fields["kind"][0] != clean["kind"]:
                raise InvalidOperationError(f"{annotation_id} cannot change its kind")
        elif name == "update":
            clean = _validate_fields(space, data, full=False)
            if record is not None and "kind" in record.fields and "points" in clean:
                _check_count(record.fields["kind"][0], clean["points"])
        else:
            if data:
                raise InvalidOperationError("delete carries no data")
            clean = {}
        self.clock = max(self.clock, lamport)
        if record is None:
            record = self._records[annotation_id] = _Record(annotation_id, author, space)
        for key, value in clean.items():
            if key not in record.fields or record.fields[key][1] < stamp:
                record.fields[key] = (value, stamp)
        if name in ("add", "delete") and record.alive[1] < stamp:
            record.alive = (name == "add", stamp)
        return True

    def _apply_clear(
        self, clear_id: str, author: str, scope: Any, lamport: int, site: str, data: dict[str, Any]
    ) -> bool:
        if scope not in (*SPACES, "all"):
            raise InvalidOperationError(f"unknown clear scope: {scope!r}"[:120])
        if set(data) != {"active", "at"} or not isinstance(data["active"], bool):
            raise InvalidOperationError("clear carries active and at")
        at = _stamp(data["at"])
        if at > (lamport, site):
            raise InvalidOperationError("a clear cannot be created after it is changed")
        return self._merge_clear(clear_id, author, scope, at, (data["active"], (lamport, site)))

    def _merge_clear(
        self, clear_id: str, author: str, scope: str, at: Stamp, active: tuple[bool, Stamp]
    ) -> bool:
        if max(at[0], active[1][0]) > self._horizon():
            raise InvalidOperationError("a clear's lamport is implausibly far ahead")
        existing = self._clears.get(clear_id)
        if existing is not None and (existing.author, existing.scope, existing.at) != (author, scope, at):
            raise InvalidOperationError(f"{author} may not change clear {clear_id}")
        self.clock = max(self.clock, active[1][0])
        if existing is None:
            self._clears[clear_id] = _Clear(clear_id, author, scope, at, active)
            return True
        if existing.active[1] < active[1]:
            existing.active = active
            return True
        return False

    def _merge_clear_entry(self, raw: dict[str, Any]) -> bool:
        clear_id = _check_str("id", raw["id"], MAX_ID)
        author = _check_str("author", raw["author"], MAX_ID)
        scope = raw["scope"]
        if scope not in (*SPACES, "all"):
            raise InvalidOperationError(f"unknown clear scope: {scope!r}"[:120])
        value, lamport, site = raw["active"]
        if not isinstance(value, bool):
            raise InvalidOperationError("active must be true or false")
        return self._merge_clear(clear_id, author, scope, _stamp(raw["at"]), (value, _stamp([lamport, site])))

    def _merge_record(self, raw: dict[str, Any]) -> bool:
        annotation_id = _check_str("id", raw["id"], MAX_ID)
        author = _check_str("author", raw["author"], MAX_ID)
        space = raw["space"]
        if not annotation_id or space not in SPACES:
            raise InvalidOperationError("record needs an id and a space")
        alive_value, alive_lamport, alive_site = raw["alive"]
        if not isinstance(alive_value, bool):
            raise InvalidOperationError("alive must be true or false")
        alive = (alive_value, _stamp([alive_lamport, alive_site]))
        fields_raw = raw["fields"]
        if not isinstance(fields_raw, dict) or set(fields_raw) - set(_FIELDS):
            raise InvalidOperationError("record fields unknown")
        values = {name: entry[0] for name, entry in fields_raw.items()}
        stamps = {name: _stamp(entry[1:]) for name, entry in fields_raw.items()}
        clean = {name: _field(space, name, value) for name, value in values.items()}
        if "kind" in clean and "points" in clean:
            _check_count(clean["kind"], clean["points"])
        if max([alive[1][0], *(stamp[0] for stamp in stamps.values())]) > self._horizon():
            raise InvalidOperationError("a record's lamport is implausibly far ahead")
        record = self._records.get(annotation_id)
        if record is not None and (record.author != author or record.space != space):
            raise InvalidOperationError(f"{author} may not change {annotation_id} of {record.author}")
        known = record.fields.get("kind") if record is not None else None
        if known is not None and clean.get("kind", known[0]) != known[0]:
            raise InvalidOperationError(f"{annotation_id} changes kind")
        if record is None:
            record = self._records[annotation_id] = _Record(annotation_id, author, space)
        for name, value in clean.items():
            stamp = stamps[name]
            self.clock = max(self.clock, stamp[0])
            if name not in record.fields or record.fields[name][1] < stamp:
                record.fields[name] = (value, stamp)
        self.clock = max(self.clock, alive[1][0])
        if record.alive[1] < alive[1]:
            record.alive = alive
        return True


def _stamp(raw: Any) -> Stamp:
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise InvalidOperationError("a stamp is [lamport, site]")
    lamport, site = raw
    if isinstance(lamport, bool) or not isinstance(lamport, int) or not -1 <= lamport < MAX_LAMPORT:
        raise InvalidOperationError(f"bad lamport: {lamport!r}"[:120])
    return (lamport, _check_str("site", site, MAX_ID))
