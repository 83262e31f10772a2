"""Put a series' slices in spatial order and say what is odd about its geometry.

Order comes from ImagePositionPatient projected on the slice normal (row x column of
ImageOrientationPatient), never from file order or InstanceNumber. Oddities become
:class:`GeometryWarning` entries on the result; only input with no usable image at all raises.

One series is one patient's: instances handed in together whose headers name different patients
(:func:`viewers.dicom.discovery.patient_key`) are never stacked into one volume; the patient with the
most images is kept and the others are left out with the warning ``mixed_patients``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset

from viewers.dicom import geometry
from viewers.dicom.discovery import InstanceHeader, PatientKey, Rejected, patient_key


@dataclass(frozen=True)
class GeometryWarning:
    """``code`` is one of: gap, uneven_spacing, tilted_gantry, mixed_orientation, duplicate_position,
    mismatched_size, missing_geometry, missing_slice, mixed_patients."""

    code: str
    message: str


@dataclass(frozen=True)
class SliceRef:
    """One 2D image: a single-frame file, or one frame of a multi-frame file."""

    instance: InstanceHeader
    frame: int | None
    position: tuple[float, ...] | None
    orientation: tuple[float, ...] | None
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]  # (row spacing = y, column spacing = x), mm
    slope: float
    intercept: float


@dataclass
class SortedSeries:
    slices: list[SliceRef]
    orientation: tuple[float, ...] | None
    normal: np.ndarray | None
    distances: np.ndarray  # position of each slice along the normal, mm
    slice_spacing: float  # nominal z step, mm (SliceThickness when there is only one slice)
    warnings: list[GeometryWarning] = field(default_factory=list)
    excluded: list[Rejected] = field(default_factory=list)

    @property
    def has_geometry(self) -> bool:
        return self.normal is not None

    def codes(self) -> set[str]:
        return {w.code for w in self.warnings}


def _floats(value: object, n: int) -> tuple[float, ...] | None:
    try:
        out = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    return out if len(out) == n else None


def _first(ds: Dataset | None, seq: str) -> Dataset | None:
    if ds is None:
        return None
    items = ds.get(seq)
    return items[0] if items else None


def _rescale(*sources: Dataset | None) -> tuple[float, float]:
    for src in sources:
        if src is not None and "RescaleSlope" in src:
            try:
                return float(src.RescaleSlope or 1.0), float(src.get("RescaleIntercept", 0.0) or 0.0)
            except (TypeError, ValueError):
                break
    return 1.0, 0.0


def slice_refs(instance: InstanceHeader) -> list[SliceRef]:
    """The 2D images of one instance, with their geometry (functional groups for enhanced objects)."""
    ds = instance.dataset
    rows, cols = int(ds.Rows), int(ds.Columns)
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if instance.number_of_frames > 1 or per_frame:
        refs = []
        for f in range(instance.number_of_frames):
            frame_groups = per_frame[f] if per_frame is not None and f < len(per_frame) else None
            pos_item = _first(frame_groups, "PlanePositionSequence") or _first(
                shared, "PlanePositionSequence"
            )
            ori_item = _first(frame_groups, "PlaneOrientationSequence") or _first(
                shared, "PlaneOrientationSequence"
            )
            px_item = _first(frame_groups, "PixelMeasuresSequence") or _first(shared, "PixelMeasuresSequence")
            rs_item = _first(frame_groups, "PixelValueTransformationSequence") or _first(
                shared, "PixelValueTransformationSequence"
            )
            position = _floats(pos_item.get("ImagePositionPatient"), 3) if pos_item else None
            orientation = _floats(ori_item.get("ImageOrientationPatient"), 6) if ori_item else None
            spacing = _floats(px_item.get("PixelSpacing"), 2) if px_item else None
            spacing = spacing or _floats(ds.get("PixelSpacing"), 2) or (1.0, 1.0)
            slope, intercept = _rescale(rs_item, ds)
            refs.append(
                SliceRef(
                    instance, f, position, orientation, rows, cols, (spacing[0], spacing[1]), slope, intercept
                )
            )
        return refs
    position = _floats(ds.get("ImagePositionPatient"), 3)
    orientation = _floats(ds.get("ImageOrientationPatient"), 6)
    spacing = _floats(ds.get("PixelSpacing"), 2) or _floats(ds.get("ImagerPixelSpacing"), 2) or (1.0, 1.0)
    slope, intercept = _rescale(ds)
    return [
        SliceRef(
            instance, None, position, orientation, rows, cols, (spacing[0], spacing[1]), slope, intercept
        )
    ]


def _label(ref: SliceRef) -> str:
    return ref.instance.path.name + (f" frame {ref.frame + 1}" if ref.frame is not None else "")


def one_patient(
    instances: Sequence[InstanceHeader],
) -> tuple[list[InstanceHeader], list[GeometryWarning], list[Rejected]]:
    """The instances of the patient with the most of them (the first seen on a tie); the others are
    left out, with a warning and a reason each."""
    by_patient: dict[PatientKey, list[InstanceHeader]] = {}
    for instance in instances:
        by_patient.setdefault(patient_key(instance.dataset), []).append(instance)
    if len(by_patient) <= 1:
        return list(instances), [], []
    kept = max(by_patient.values(), key=len)
    others = [i for group in by_patient.values() if group is not kept for i in group]
    warning = GeometryWarning(
        "mixed_patients",
        f"these images belong to {len(by_patient)} different patients; kept the {len(kept)} of one"
        f" patient, left out {len(others)}",
    )
    reason = "another patient's image (Patient ID, name or birth date differ from the series)"
    return kept, [warning], [Rejected(i.path, reason) for i in others]


def one_place_in_time(refs: Sequence[SliceRef]) -> bool:
    """True for the frames of one multi-frame object that all lie at the same position."""
    return (
        len(refs) > 1
        and len({r.instance.sop_instance_uid for r in refs}) == 1
        and refs[0].position is not None
        and len({r.position for r in refs}) == 1
    )


def sort_series(instances: Sequence[InstanceHeader]) -> SortedSeries:
    """Spatially sort the slices of ``instances`` and report gaps, tilt and other oddities."""
    instances, warnings, excluded = one_patient(instances)
    refs = [ref for inst in instances for ref in slice_refs(inst)]
    if not refs:
        raise ValueError("series has no images")

    sizes = Counter((r.rows, r.columns) for r in refs)
    if len(sizes) > 1:
        (rows, cols), _ = sizes.most_common(1)[0]
        odd = [r for r in refs if (r.rows, r.columns) != (rows, cols)]
        warnings.append(
            GeometryWarning(
                "mismatched_size",
                f"{len(odd)} image(s) are not {rows}x{cols} (rows x columns) like the rest; left out",
            )
        )
        excluded.extend(
            Rejected(r.instance.path, f"{r.rows}x{r.columns} differs from {rows}x{cols}") for r in odd
        )
        refs = [r for r in refs if (r.rows, r.columns) == (rows, cols)]

    if one_place_in_time(refs):
        # an enhanced cine (every frame of one multi-frame object at one position): a loop in frame order
        thickness = float(instances[0].dataset.get("SliceThickness", 1.0) or 1.0)
        return SortedSeries(
            refs, None, None, np.arange(len(refs), dtype=float), thickness, warnings, excluded
        )
    with_geometry = [r for r in refs if r.position is not None and r.orientation is not None]
    if len(with_geometry) < len(refs):
        if with_geometry:
            warnings.append(
                GeometryWarning(
                    "missing_geometry",
                    f"{len(refs) - len(with_geometry)} image(s) lack ImagePositionPatient or"
                    " ImageOrientationPatient; left out",
                )
            )
            excluded.extend(
                Rejected(r.instance.path, "no ImagePositionPatient/ImageOrientationPatient")
                for r in refs
                if r not in with_geometry
            )
            refs = with_geometry
        else:
            # cine loops, secondary captures: keep acquisition order (frame, then InstanceNumber)
            warnings.append(
                GeometryWarning("missing_geometry", "no patient geometry; images kept in file order")
            )
            thickness = float(instances[0].dataset.get("SliceThickness", 1.0) or 1.0)
            return SortedSeries(
                refs, None, None, np.arange(len(refs), dtype=float), thickness, warnings, excluded
            )

    # orientation groups: keep the biggest, report the rest
    groups: list[list[SliceRef]] = []
    for ref in refs:
        for grp in groups:
            if geometry.same_orientation(grp[0].orientation or (), ref.orientation or ()):
                grp.append(ref)
                break
        else:
            groups.append([ref])
    groups.sort(key=len, reverse=True)
    refs = groups[0]
    orientation = refs[0].orientation
    assert orientation is not None
    if len(groups) > 1:
        others = [r for grp in groups[1:] for r in grp]
        warnings.append(
            GeometryWarning(
                "mixed_orientation",
                f"{len(groups)} different orientations; kept the {len(refs)} images sharing one,"
                f" left out {len(others)}",
            )
        )
        excluded.extend(
            Rejected(r.instance.path, "orientation differs from the rest of the series") for r in others
        )

    normal = geometry.slice_normal(orientation)
    positions = np.array([r.position for r in refs], dtype=np.float64)
    distances = geometry.project(positions, normal)
    order = np.argsort(distances, kind="stable")
    refs = [refs[i] for i in order]
    positions = positions[order]
    distances = distances[order]

    keep = np.ones(len(refs), dtype=bool)
    keep[1:] = np.diff(distances) > geometry.DUPLICATE_TOLERANCE_MM
    if not keep.all():
        dups = [refs[i] for i in np.flatnonzero(~keep)]
        warnings.append(
            GeometryWarning(
                "duplicate_position",
                f"{len(dups)} image(s) share a position with another slice; kept the first of each",
            )
        )
        excluded.extend(Rejected(r.instance.path, "duplicate slice position") for r in dups)
        refs = [r for r, k in zip(refs, keep, strict=True) if k]
        positions, distances = positions[keep], distances[keep]

    spacing, steps = geometry.spacing_profile(distances)
    if spacing == 0.0:
        spacing = float(instances[0].dataset.get("SliceThickness", 1.0) or 1.0)
    if steps.size:
        missing = np.round(steps / spacing).astype(int) - 1
        if (missing > 0).any():
            where = np.flatnonzero(missing > 0)
            desc = ", ".join(f"{int(missing[i])} after {distances[i]:.2f} mm" for i in where[:5])
            warnings.append(
                GeometryWarning(
                    "gap",
                    f"{int(missing[missing > 0].sum())} slice(s) missing at nominal spacing"
                    f" {spacing:.3g} mm: {desc}",
                )
            )
        spread = float(np.max(np.abs(steps - spacing)) / spacing)
        if spread > geometry.UNEVEN_TOLERANCE and not (missing > 0).any():
            warnings.append(
                GeometryWarning(
                    "uneven_spacing",
                    f"slice spacing varies from {steps.min():.3g} to {steps.max():.3g} mm"
                    f" (nominal {spacing:.3g} mm)",
                )
            )
        elif spread > geometry.UNEVEN_TOLERANCE:
            non_gap = steps[missing == 0]
            if (
                non_gap.size
                and float(np.max(np.abs(non_gap - spacing)) / spacing) > geometry.UNEVEN_TOLERANCE
            ):
                warnings.append(
                    GeometryWarning(
                        "uneven_spacing",
                        f"slice spacing varies from {non_gap.min():.3g} to {non_gap.max():.3g} mm",
                    )
                )
    tilt = geometry.tilt_angle_deg(positions, normal)
    if tilt > geometry.TILT_TOLERANCE_DEG:
        warnings.append(
            GeometryWarning(
                "tilted_gantry",
                f"slices are stacked {tilt:.2f} degrees off their normal (gantry tilt); the volume is"
                " shown unsheared, so oblique distances are approximate",
            )
        )
    return SortedSeries(refs, orientation, normal, distances, spacing, warnings, excluded)
