"""How fast a cine loop plays: the frame interval a multi-frame header states.

Frame Time (0018,1063), Frame Time Vector (0018,1065), Cine Rate (0018,0040) and Recommended
Display Frame Rate (0008,2144) are tried in that order; an enhanced object without any of them is
timed from its functional groups (the Frame Reference DateTime of each frame's Frame Content item).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
from pydicom.dataset import Dataset


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


def _vector_ms(value: object) -> float | None:
    """The mean interval of a Frame Time Vector (its first entry, the time to frame 1, is 0)."""
    if value is None or value == "":
        return None
    items: list[object] = (
        list(value) if isinstance(value, Iterable) and not isinstance(value, str) else [value]
    )
    intervals = [v for v in (_positive(item) for item in items) if v is not None]
    return float(np.mean(intervals)) if intervals else None


def _datetime(value: object) -> datetime | None:
    text = str(value or "").strip().split("+")[0].split("-")[0]
    for layout in ("%Y%m%d%H%M%S.%f", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return None


def _functional_groups_ms(ds: Dataset) -> float | None:
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if not per_frame or len(per_frame) < 2:
        return None
    stamps = []
    for item in per_frame:
        content = item.get("FrameContentSequence")
        stamp = _datetime(content[0].get("FrameReferenceDateTime")) if content else None
        if stamp is None:
            return None
        stamps.append(stamp.timestamp() * 1000.0)
    steps = np.diff(np.asarray(stamps))
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else None


def frame_time_ms(ds: Dataset) -> float | None:
    """Milliseconds between frames, or None when the header does not say."""
    frame_time = _positive(ds.get("FrameTime"))
    if frame_time is not None:
        return frame_time
    vector = _vector_ms(ds.get("FrameTimeVector"))
    if vector is not None:
        return vector
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _positive(ds.get(keyword))
        if rate is not None:
            return 1000.0 / rate
    return _functional_groups_ms(ds)
