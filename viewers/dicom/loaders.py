"""Choose how to load a series, Slicer style: each loader examines it and states a confidence.

``examine(series)`` asks every loader (built-ins plus any registered by plugins) for
:class:`Loadable` offers; the highest confidence wins. Loaders only look at headers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from viewers.dicom.discovery import Series
from viewers.dicom.series import one_place_in_time, slice_refs, sort_series

LoadableKind = Literal["volume", "cine", "secondary_capture"]

SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
CINE_MODALITIES = {"US", "XA", "RF", "ES", "IVUS"}
VOLUME_MODALITIES = {"CT", "MR", "PT", "NM", "CBCT"}


@dataclass(frozen=True)
class Loadable:
    name: str
    confidence: float  # 0..1
    kind: LoadableKind
    series: Series = field(compare=False, repr=False)
    warnings: tuple[str, ...] = ()


SeriesExaminer = Callable[[Series], list[Loadable]]


def _name(series: Series, what: str) -> str:
    label = series.description or f"Series {series.series_number or '?'}"
    return f"{label} ({series.modality or '?'} {what})"


def examine_volume(series: Series) -> list[Loadable]:
    try:
        ordered = sort_series(series.instances)
    except (ValueError, AttributeError) as exc:
        return [Loadable(_name(series, "volume"), 0.0, "volume", series, (str(exc),))]
    if not ordered.has_geometry or len(ordered.slices) < 2:
        return []
    confidence = 0.9 if series.modality in VOLUME_MODALITIES else 0.6
    serious = ordered.codes() & {"tilted_gantry", "mixed_orientation", "gap"}
    confidence -= 0.1 * len(serious)
    warnings = tuple(w.message for w in ordered.warnings)
    what = f"volume, {len(ordered.slices)} slices"
    return [Loadable(_name(series, what), round(max(confidence, 0.1), 2), "volume", series, warnings)]


def examine_cine(series: Series) -> list[Loadable]:
    offers = []
    for inst in series.instances:
        if not inst.is_multiframe:
            continue
        has_positions = "PerFrameFunctionalGroupsSequence" in inst.dataset
        if (
            has_positions
            and series.modality not in CINE_MODALITIES
            and not one_place_in_time(slice_refs(inst))
        ):
            continue  # enhanced CT/MR: a volume, not a loop (unless every frame lies at one position)
        confidence = 0.95 if series.modality in CINE_MODALITIES else 0.7
        offers.append(
            Loadable(_name(series, f"cine, {inst.number_of_frames} frames"), confidence, "cine", series)
        )
    return offers[:1]


def examine_secondary_capture(series: Series) -> list[Loadable]:
    if any(inst.sop_class_uid.startswith(SECONDARY_CAPTURE_PREFIX) for inst in series.instances):
        return [Loadable(_name(series, "image"), 0.9, "secondary_capture", series)]
    # any 2D image can at least be shown as a picture
    return [Loadable(_name(series, "image"), 0.2, "secondary_capture", series)]


_EXAMINERS: list[SeriesExaminer] = [examine_volume, examine_cine, examine_secondary_capture]


def register_examiner(examiner: SeriesExaminer) -> None:
    """Plugins add loaders here; a failing examiner is skipped, never fatal."""
    if examiner not in _EXAMINERS:
        _EXAMINERS.append(examiner)


def unregister_examiner(examiner: SeriesExaminer) -> None:
    if examiner in _EXAMINERS:
        _EXAMINERS.remove(examiner)


def examine(series: Series, examiners: Sequence[SeriesExaminer] | None = None) -> list[Loadable]:
    """All offers for ``series``, best first."""
    offers: list[Loadable] = []
    for examiner in examiners if examiners is not None else list(_EXAMINERS):
        try:
            offers.extend(examiner(series))
        except Exception:  # a faulty plugin loader must not stop the others
            continue
    return sorted(offers, key=lambda offer: offer.confidence, reverse=True)


def best_loadable(series: Series) -> Loadable | None:
    offers = examine(series)
    return offers[0] if offers else None
