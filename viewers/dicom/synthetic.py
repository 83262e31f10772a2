"""Synthetic DICOM data with real geometry, for tests, benchmarks and the demo (no shipped binaries)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
SECONDARY_CAPTURE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
MANUFACTURER = "Teleconsult Synthetic"
FRAME_TIME_TAG = 0x00181063  # Frame Time: what Frame Increment Pointer points at in a cine


@dataclass
class SyntheticSeries:
    paths: list[Path]  # in slice order along the normal
    positions: np.ndarray  # (n, 3) ImagePositionPatient per slice
    hu: np.ndarray  # (z, y, x) the HU values written, after rescale
    study_uid: str
    series_uid: str


def _base(
    sop_class: str,
    study_uid: str,
    series_uid: str,
    modality: str,
    patient_name: str = "Doe^Jane",
    patient_id: str = "PID-12345",
) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyDate = "20260101"
    ds.StudyTime = "101500"
    ds.StudyID = "S1"
    ds.StudyDescription = "Synthetic study"
    ds.AccessionNumber = "ACC001"
    ds.InstitutionName = "County Hospital"
    ds.ReferringPhysicianName = "Smith^John"
    ds.Modality = modality
    ds.SeriesNumber = 1
    ds.Laterality = ""  # General Series, Type 2C (a paired body part): unknown
    ds.FrameOfReferenceUID = generate_uid()
    ds.PositionReferenceIndicator = ""  # Frame of Reference, Type 2
    ds.Manufacturer = MANUFACTURER  # General Equipment, Type 2
    ds.ContentDate = ds.StudyDate
    ds.ContentTime = ds.StudyTime
    return ds


def grey_pixel_module(ds: Dataset, rows: int, cols: int, bits: int = 16) -> None:
    """The Image Pixel module of an unsigned single-sample greyscale image of ``bits`` bits."""
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0


def phantom(shape: tuple[int, int, int]) -> np.ndarray:
    """A body-like HU phantom: air outside, water ellipse, a bone ring, a lung-like hole; int16."""
    nz, ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx]
    cy, cx = (ny - 1) / 2, (nx - 1) / 2
    r = np.hypot((y - cy) / (0.45 * ny), (x - cx) / (0.4 * nx))
    plane = np.full((ny, nx), -1000, np.int16)
    plane[r < 1.0] = 40
    plane[(r > 0.85) & (r < 1.0)] = 700
    plane[np.hypot((y - cy) / (0.15 * ny), (x - cx * 0.7) / (0.12 * nx)) < 1.0] = -800
    vol = np.repeat(plane[None], nz, axis=0)
    # a per-slice marker makes slice order checkable: pixel (0, 0) holds the slice index
    vol[:, 0, 0] = np.arange(nz, dtype=np.int16)
    return vol


def _ellipse(u: np.ndarray, v: np.ndarray, cu: float, cv: float, au: float, av: float) -> np.ndarray:
    """Normalised radius of (u, v) in an ellipse centred at (cu, cv) with semi-axes (au, av)."""
    return np.hypot((u - cu) / au, (v - cv) / av)


def chest_phantom(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float] = (0.7, 0.7, 1.0),
    *,
    seed: int = 0,
    noise_hu: float = 10.0,
) -> np.ndarray:
    """A contrast-enhanced chest CT in HU (int16, (z, y, x)), slice 0 at the base, the last at the apex.

    Anatomy is laid out in fractions of the field of view (so it fits any matrix), with sizes that
    matter clinically in millimetres from ``spacing`` (x, y, z): the lesion's 20 mm diameter, rib and
    vertebra pitch. Rows run anterior to posterior and columns right to left (LPS, radiological
    display): skin and subcutaneous fat, two lungs (-850 HU) that grow from apex to base and sit on
    the diaphragm domes (the right one higher, over the liver), a vertebral column with discs and a
    spinal canal, enhanced aorta and heart chambers, sloping ribs, a sternum, lung vessels, a 20 mm
    nodule (30 HU) in the right upper lobe and Gaussian noise; deterministic for a given ``seed``.
    """
    nz, ny, nx = shape
    sx, sy, sz = (float(s) for s in spacing)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float32)
    # u: patient right (-1) to left (+1); v: anterior (-1) to posterior (+1)
    u = (x - (nx - 1) / 2) / (nx / 2)
    v = (y - (ny - 1) / 2) / (ny / 2)
    angle = np.arctan2(-v, np.abs(u))  # 0 at the side, +pi/2 in front, -pi/2 at the back
    body_r = _ellipse(u, v, 0.0, 0.04, 0.86, 0.60)
    canal_r = _ellipse(u, v, 0.0, 0.56, 0.045, 0.045)
    vertebra_r = _ellipse(u, v, 0.0, 0.40, 0.10, 0.09)
    lamina = (_ellipse(u, v, 0.0, 0.56, 0.10, 0.06) < 1.0) & (canal_r > 1.0)
    spinous = (np.abs(u) < 0.018) & (v > 0.58) & (v < 0.62)
    transverse = (np.abs(v - 0.52) < 0.025) & (np.abs(u) < 0.17)
    sternum = _ellipse(u, v, 0.0, -0.50, 0.07, 0.035) < 1.0
    desc_aorta = _ellipse(u, v, 0.10, 0.27, 0.055, 0.055) < 1.0
    # lung vessels: tubes from the hila outwards, drifting along z
    n_vessels = 48
    hilum_u = np.where(np.arange(n_vessels) % 2 == 0, -0.2, 0.2)
    ends = rng.uniform(-1.0, 1.0, (n_vessels, 2)) * [0.28, 0.35] + np.c_[hilum_u * 2.1, np.zeros(n_vessels)]
    vessel_z = rng.uniform(0.1, 0.9, n_vessels)
    vessel_len = rng.uniform(0.15, 0.35, n_vessels)
    vessel_mm = rng.uniform(1.5, 4.0, n_vessels)
    # nodule: right upper lobe, 20 mm diameter
    nodule_c = (-0.40, -0.05, 0.68)  # u, v, fraction of the height from the base
    nodule_mm = 10.0
    out = np.empty(shape, np.int16)
    plane = np.empty((ny, nx), np.float32)
    for k in range(nz):
        t = k / max(nz - 1, 1)  # 0 at the base, 1 at the apex
        z_mm = k * sz
        plane.fill(-1000.0)
        plane[body_r < 1.0] = 40.0
        plane[(body_r > 0.90) & (body_r < 0.975)] = -100.0  # subcutaneous fat under the skin
        # lungs: apex small, widest a third of the way up, then the diaphragm domes eat them from inside
        size = float(np.sqrt(max(1.0 - ((t - 0.35) / 0.62) ** 2, 0.0))) if t > 0.35 else 1.0
        if size < 0.15:
            size = 0.0
        for side, base in ((-1.0, 0.16), (1.0, 0.09)):  # right dome higher (liver below)
            if t < base - 0.07 or size == 0.0:
                continue
            cu = side * 0.42
            lung_r = _ellipse(u, v, cu, 0.02, 0.30 * size, 0.42 * size)
            lung = lung_r < 1.0
            if side > 0:
                lung &= _ellipse(u, v, 0.12, -0.12, 0.26, 0.24) > 1.0  # the heart's notch
            if t < base + 0.18:  # dome: only a rim of lung around it near the base
                dome = float(np.sqrt(max(1.0 - (t - (base - 0.07)) / 0.25, 0.0)))
                lung &= lung_r > min(dome, 0.85)
            plane[lung] = -850.0
            if t < base + 0.1 and side < 0:
                plane[(lung_r < 0.9) & ~lung & (body_r < 0.88)] = 60.0  # liver dome
        # heart (lower half): myocardium with enhanced chambers and a septum
        if 0.1 < t < 0.55:
            h = np.sin(np.pi * (t - 0.1) / 0.45)
            heart_r = _ellipse(u, v, 0.12, -0.12, 0.26 * h + 0.02, 0.24 * h + 0.02)
            plane[heart_r < 1.0] = 50.0
            chambers = (heart_r < 0.78) & (np.abs((u - 0.12) + 0.6 * (v + 0.12)) > 0.025)
            plane[chambers] = 250.0
        # aorta: ascending in front, the arch on top, descending beside the spine
        if 0.45 < t < 0.78:
            plane[_ellipse(u, v, 0.02, -0.18, 0.065, 0.065) < 1.0] = 250.0
            plane[_ellipse(u, v, -0.14, -0.16, 0.05, 0.05) < 1.0] = 200.0  # superior vena cava
            plane[_ellipse(u, v, 0.10, -0.05, 0.07, 0.06) < 1.0] = 230.0  # pulmonary trunk
        if 0.78 <= t < 0.84:
            arch = (np.abs(_ellipse(u, v, 0.06, 0.05, 0.08, 0.24) - 1.0) < 0.25) & (u > -0.04)
            plane[arch] = 250.0
        if t < 0.84:
            plane[desc_aorta] = 250.0
        # spine: vertebral bodies with discs every ~25 mm, canal, posterior elements
        disc = (z_mm % 25.0) < 5.0
        plane[vertebra_r < 1.0] = 80.0 if disc else 700.0
        if not disc:
            plane[(vertebra_r > 0.85) & (vertebra_r < 1.0)] = 1000.0  # cortex
            plane[lamina | spinous | transverse] = 650.0
        plane[canal_r < 1.0] = 15.0
        plane[sternum] = 400.0 if t > 0.2 else 40.0
        # ribs: a bony shell inside the body wall, cut where it slopes through this slice
        if t > 0.08:
            wall = (body_r > 0.80) & (body_r < 0.875) & (np.abs(u) > 0.16)  # cartilage at the sternum
            slope_mm = 40.0 * (angle / np.pi + 0.5)  # posterior ends sit higher
            pitch = 28.0
            rib = wall & (((z_mm + slope_mm) % pitch) < 9.0)
            plane[rib] = 650.0
        # lung vessels
        for i in range(n_vessels):
            frac = (t - vessel_z[i]) / vessel_len[i]
            if not 0.0 <= frac <= 1.0:
                continue
            vu = hilum_u[i] + (ends[i, 0] - hilum_u[i]) * frac
            vv = 0.0 + ends[i, 1] * frac
            radius = vessel_mm[i] * (1.0 - 0.6 * frac) / sx / (nx / 2)
            cx = int((vu * nx / 2) + (nx - 1) / 2)
            cy = int((vv * ny / 2) + (ny - 1) / 2)
            half = int(radius * nx / 2) + 2
            rows = slice(max(cy - half, 0), min(cy + half + 1, ny))
            cols = slice(max(cx - half, 0), min(cx + half + 1, nx))
            patch = plane[rows, cols]
            if patch.size == 0:
                continue
            inside = np.hypot(u[rows, cols] - vu, (v[rows, cols] - vv) * ny / nx) < radius
            inside &= patch < -500
            patch[inside] = 40.0
        # the nodule, a sphere in millimetres
        dz = (t - nodule_c[2]) * (nz - 1) * sz
        if abs(dz) < nodule_mm:
            r_mm = np.sqrt(nodule_mm**2 - dz**2)
            du = (u - nodule_c[0]) * (nx / 2) * sx
            dv = (v - nodule_c[1]) * (ny / 2) * sy
            plane[np.hypot(du, dv) < r_mm] = 30.0
        if noise_hu > 0:
            plane += rng.standard_normal((ny, nx), dtype=np.float32) * np.float32(noise_hu)
        np.clip(plane, -1024.0, 3071.0, out=plane)
        np.rint(plane, out=plane)
        out[k] = plane
    return out


def write_ct_series(
    folder: Path,
    shape: tuple[int, int, int] = (8, 32, 32),
    *,
    spacing: tuple[float, float, float] = (0.7, 0.8, 2.5),
    origin: tuple[float, float, float] = (-100.0, -120.0, 50.0),
    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    slope: float = 1.0,
    intercept: float = -1024.0,
    shuffle_names: bool = True,
    positions: np.ndarray | None = None,
    study_uid: str | None = None,
    seed: int = 0,
    bits: int = 16,
    anatomy: str = "phantom",
    patient_name: str = "Doe^Jane",
    patient_id: str = "PID-12345",
    study_description: str = "Synthetic study",
    patient_birth_date: str = "19700101",
    patient_sex: str = "F",
    series_uid: str | None = None,
) -> SyntheticSeries:
    """Write one CT slice per file. ``positions`` overrides the regular stack (for gaps, tilt).

    ``anatomy`` is "phantom" (the geometric :func:`phantom` the tests measure) or "chest"
    (:func:`chest_phantom`, for the demo, screenshots and the benchmark; noise seeded by ``seed``).

    ``bits=8`` stores 8-bit pixels (what JPEG baseline carries) with a RescaleSlope of 8 unless one is
    given; ``hu`` then holds the values after that coarser rescale. The CT Image IOD requires 16 bits
    allocated, so only those 8-bit files fail dciodvfy; the default 16-bit output passes it.

    ``study_uid`` and ``series_uid`` reuse UIDs (a second series of one study; or, with another
    patient, the merged-UID folders discovery must keep apart).
    """
    if bits not in (8, 16):
        raise ValueError("bits must be 8 or 16")
    if anatomy not in ("phantom", "chest"):
        raise ValueError("anatomy must be 'phantom' or 'chest'")
    if bits == 8 and slope == 1.0:
        slope = 8.0
    folder.mkdir(parents=True, exist_ok=True)
    nz, ny, nx = shape
    row = np.asarray(orientation[:3], float)
    col = np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    if positions is None:
        positions = np.asarray(origin, float)[None] + np.arange(nz)[:, None] * spacing[2] * normal[None]
    hu = chest_phantom(shape, spacing, seed=seed) if anatomy == "chest" else phantom(shape)
    if bits == 8:
        hu = (np.clip(np.round((hu - intercept) / slope), 0, 255) * slope + intercept).astype(np.float32)
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    rng = np.random.default_rng(seed)
    order = rng.permutation(nz) if shuffle_names else np.arange(nz)
    paths: list[Path] = []
    for k in range(nz):
        ds = _base(CT_IMAGE_STORAGE, study_uid, series_uid, "CT", patient_name, patient_id)
        ds.PatientBirthDate, ds.PatientSex = patient_birth_date, patient_sex
        ds.StudyDescription = study_description
        if anatomy == "chest":
            ds.SeriesDescription = f"Chest {spacing[2]:g} mm with contrast"
            ds.BodyPartExamined = "CHEST"
            del ds.Laterality  # an unpaired body part: absent, not empty
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.PatientPosition = "HFS"  # General Series, Type 2C (CT)
        ds.AcquisitionNumber = 1  # CT Image, Type 2
        ds.KVP = 120  # CT Image, Type 2
        # InstanceNumber deliberately disagrees with geometry: sorting must use positions
        ds.InstanceNumber = int(nz - k)
        ds.ImagePositionPatient = [float(v) for v in positions[k]]
        ds.ImageOrientationPatient = [float(v) for v in orientation]
        ds.PixelSpacing = [spacing[1], spacing[0]]  # row spacing (y), column spacing (x)
        ds.SliceThickness = spacing[2]
        ds.Rows, ds.Columns = ny, nx
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = bits
        ds.BitsStored = 8 if bits == 8 else 12 if intercept < 0 else 16  # scanners commonly store 12 bits
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 0 if intercept < 0 or bits == 8 else 1
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
        ds.RescaleType = "HU"
        ds.WindowCenter = 40
        ds.WindowWidth = 400
        stored = np.round((hu[k].astype(np.float64) - intercept) / slope)
        dtype = np.uint8 if bits == 8 else np.uint16 if ds.PixelRepresentation == 0 else np.int16
        ds.PixelData = stored.astype(dtype).tobytes()
        path = folder / f"IM{int(order[k]):05d}"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return SyntheticSeries(paths, np.asarray(positions, float), hu, study_uid, series_uid)


def write_us_cine(folder: Path, frames: int = 6, rows: int = 24, cols: int = 32, rgb: bool = False) -> Path:
    """An ultrasound multi-frame cine loop (no patient geometry), one file."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = _base(US_MULTIFRAME_STORAGE, generate_uid(), generate_uid(), "US")
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY"]  # US Image, Type 2
    ds.PatientOrientation = ""  # General Image, Type 2C (no patient geometry)
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = FRAME_TIME_TAG  # Multi-frame, Type 1C
    ds.FrameTime = 33.3
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    data = (np.arange(frames)[:, None, None] * 10 + np.zeros((1, rows, cols))).astype(np.uint8)
    if rgb:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        data = np.repeat(data[..., None], 3, axis=-1)
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = data.tobytes()
    path = folder / "cine.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _enhanced_ct_macros(spacing: tuple[float, float, float], nx: int) -> dict[str, Dataset]:
    """The shared functional group items the Enhanced CT IOD requires (one plausible spiral scan)."""
    anatomy = Dataset()
    anatomy.AnatomicRegionSequence = DicomSequence([_code("51185008", "SCT", "Chest")])
    anatomy.FrameLaterality = "U"
    irradiation = Dataset()
    irradiation.IrradiationEventUID = generate_uid()
    frame_type = Dataset()
    frame_type.FrameType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    frame_type.PixelPresentation = "MONOCHROME"
    frame_type.VolumetricProperties = "VOLUME"
    frame_type.VolumeBasedCalculationTechnique = "NONE"
    acquisition_type = Dataset()
    acquisition_type.AcquisitionType = "SPIRAL"
    acquisition_type.ConstantVolumeFlag = "NO"
    acquisition_type.FluoroscopyFlag = "NO"
    details = Dataset()
    details.DataCollectionDiameter = 500.0
    details.RotationDirection = "CW"
    details.RevolutionTime = 0.5
    details.SingleCollimationWidth = 0.625
    details.TotalCollimationWidth = 40.0
    details.TableHeight = 150.0
    details.GantryDetectorTilt = 0.0
    table = Dataset()
    table.TableSpeed = 80.0
    table.TableFeedPerRotation = 40.0
    table.SpiralPitchFactor = 1.0
    position = Dataset()
    position.TablePosition = 0.0
    position.ReconstructionTargetCenterPatient = [0.0, 0.0, 0.0]
    position.DataCollectionCenterPatient = [0.0, 0.0, 0.0]
    geometry = Dataset()
    geometry.DistanceSourceToDetector = 1040.0
    geometry.DistanceSourceToDataCollectionCenter = 570.0
    reconstruction = Dataset()
    reconstruction.ReconstructionAlgorithm = "FILTER_BACK_PROJ"
    reconstruction.ConvolutionKernel = "STANDARD"
    reconstruction.ConvolutionKernelGroup = "SOFT_TISSUE"
    reconstruction.ReconstructionDiameter = float(spacing[0]) * nx
    reconstruction.ReconstructionPixelSpacing = [spacing[1], spacing[0]]
    reconstruction.ReconstructionAngle = 360.0
    reconstruction.ImageFilter = "NONE"
    exposure = Dataset()
    exposure.ExposureTimeInms = 500.0
    exposure.XRayTubeCurrentInmA = 200.0
    exposure.ExposureInmAs = 100.0
    exposure.ExposureModulationType = "NONE"
    xray = Dataset()
    xray.KVP = 120
    xray.FocalSpots = [1.0]
    xray.FilterType = "BODY"
    xray.FilterMaterial = ["ALUMINUM"]
    return {
        "FrameAnatomySequence": anatomy,
        "IrradiationEventIdentificationSequence": irradiation,
        "CTImageFrameTypeSequence": frame_type,
        "CTAcquisitionTypeSequence": acquisition_type,
        "CTAcquisitionDetailsSequence": details,
        "CTTableDynamicsSequence": table,
        "CTPositionSequence": position,
        "CTGeometrySequence": geometry,
        "CTReconstructionSequence": reconstruction,
        "CTExposureSequence": exposure,
        "CTXRayDetailsSequence": xray,
    }


def write_enhanced_ct(
    folder: Path,
    shape: tuple[int, int, int] = (5, 16, 20),
    spacing: tuple[float, float, float] = (0.5, 0.6, 3.0),
    origin: tuple[float, float, float] = (10.0, 20.0, 30.0),
    intercept: float = -1024.0,
) -> tuple[Path, np.ndarray]:
    """An enhanced CT (one multi-frame file with per-frame positions, frames in reverse order)."""
    folder.mkdir(parents=True, exist_ok=True)
    nz, ny, nx = shape
    ds = _base(ENHANCED_CT_STORAGE, generate_uid(), generate_uid(), "CT")
    ds.InstanceNumber = 1
    ds.PatientPosition = "HFS"
    del ds.Laterality  # Frame Anatomy's FrameLaterality says it instead
    # Enhanced General Equipment (all Type 1)
    ds.ManufacturerModelName = "Synthetic CT"
    ds.DeviceSerialNumber = "SYN-0001"
    ds.SoftwareVersions = "1.0"
    # Enhanced CT Image
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.AcquisitionNumber = 1
    acquired = ds.StudyDate + ds.StudyTime
    ds.AcquisitionDateTime = acquired
    ds.AcquisitionDuration = 0.5 * nz
    ds.AcquisitionContextSequence = DicomSequence([])  # Type 2: empty
    # Multi-frame Dimension: frames indexed by stack and position in it
    organization = Dataset()
    organization.DimensionOrganizationUID = generate_uid()
    ds.DimensionOrganizationSequence = DicomSequence([organization])
    dimensions = []
    for pointer in (0x00209056, 0x00209057):  # Stack ID, In-Stack Position Number
        dim = Dataset()
        dim.DimensionOrganizationUID = organization.DimensionOrganizationUID
        dim.DimensionIndexPointer = pointer
        dim.FunctionalGroupPointer = 0x00209111  # Frame Content Sequence
        dimensions.append(dim)
    ds.DimensionIndexSequence = DicomSequence(dimensions)
    ds.NumberOfFrames = nz
    grey_pixel_module(ds, ny, nx)
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    measures = Dataset()
    measures.PixelSpacing = [spacing[1], spacing[0]]
    measures.SliceThickness = spacing[2]
    rescale = Dataset()
    rescale.RescaleSlope = 1
    rescale.RescaleIntercept = intercept
    rescale.RescaleType = "HU"
    shared.PlaneOrientationSequence = DicomSequence([orient])
    shared.PixelMeasuresSequence = DicomSequence([measures])
    shared.PixelValueTransformationSequence = DicomSequence([rescale])
    for keyword, item in _enhanced_ct_macros(spacing, nx).items():
        setattr(shared, keyword, DicomSequence([item]))
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    hu = phantom(shape)
    per_frame = []
    frames = []
    for f in range(nz):
        k = nz - 1 - f  # stored in reverse spatial order
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing[2]]
        item.PlanePositionSequence = DicomSequence([pos])
        content = Dataset()
        content.FrameAcquisitionDateTime = acquired
        content.FrameReferenceDateTime = acquired
        content.FrameAcquisitionDuration = 500.0
        content.StackID = "1"
        content.InStackPositionNumber = k + 1
        content.DimensionIndexValues = [1, k + 1]
        item.FrameContentSequence = DicomSequence([content])
        per_frame.append(item)
        frames.append((hu[k].astype(np.int32) - int(intercept)).astype(np.uint16))
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    ds.PixelData = np.stack(frames).tobytes()
    path = folder / "enhanced.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, hu


def write_secondary_capture(folder: Path, rows: int = 16, cols: int = 16) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ds = _base(SECONDARY_CAPTURE_STORAGE, generate_uid(), generate_uid(), "OT")
    ds.InstanceNumber = 1
    ds.ConversionType = "WSD"  # SC Equipment, Type 1: workstation
    del ds.PositionReferenceIndicator  # no Frame of Reference module in the SC IOD
    ds.PatientOrientation = ""  # General Image, Type 2C (no patient geometry)
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.zeros((rows, cols), np.uint8).tobytes()
    path = folder / "sc.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


# Compressed transfer syntaxes PACS send. pydicom 3 encodes RLE and (through pylibjpeg-openjpeg)
# JPEG 2000 itself; JPEG baseline is written with Pillow's JPEG encoder and JPEG lossless with
# DCMTK's dcmcjpeg, since no Python encoder for it is installed.
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG2000 = "1.2.840.10008.1.2.4.91"
LOSSY_SYNTAXES = {JPEG_BASELINE, JPEG2000}


def _compress_jpeg_baseline(path: Path, quality: int) -> None:
    import io

    import pydicom
    from PIL import Image
    from pydicom.encaps import encapsulate

    ds = pydicom.dcmread(path)
    if int(ds.BitsAllocated) != 8 or int(ds.get("SamplesPerPixel", 1)) != 1:
        raise ValueError("JPEG baseline needs 8-bit greyscale pixels (write the series with bits=8)")
    frames = ds.pixel_array.reshape(-1, int(ds.Rows), int(ds.Columns))
    encoded = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(frame), mode="L").save(buffer, "JPEG", quality=quality)
        encoded.append(buffer.getvalue())
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = UID(JPEG_BASELINE)
    ds.LossyImageCompression = "01"
    ds.save_as(path, enforce_file_format=True)


def _compress_dcmtk(path: Path, flag: str) -> None:
    import shutil
    import subprocess

    tool = shutil.which("dcmcjpeg")
    if tool is None:
        raise RuntimeError("no JPEG lossless encoder: DCMTK's dcmcjpeg is not installed")
    out = path.with_name(path.name + ".jpeg.tmp")
    subprocess.run([tool, flag, str(path), str(out)], check=True, capture_output=True, timeout=60)
    out.replace(path)


def compress_file(path: Path, transfer_syntax: str, *, quality: int = 90) -> None:
    """Rewrite one uncompressed DICOM file in place in ``transfer_syntax``."""
    if transfer_syntax == JPEG_BASELINE:
        _compress_jpeg_baseline(path, quality)
    elif transfer_syntax in (JPEG_LOSSLESS_SV1, JPEG_LOSSLESS):
        _compress_dcmtk(path, "+e1" if transfer_syntax == JPEG_LOSSLESS_SV1 else "+el")
    elif transfer_syntax in (RLE_LOSSLESS, JPEG2000_LOSSLESS, JPEG2000):
        import pydicom

        ds = pydicom.dcmread(path)
        options: dict[str, object] = {}
        if transfer_syntax == JPEG2000:
            options["j2k_psnr"] = [60]  # lossy, at a quality a reader would accept
        ds.compress(UID(transfer_syntax), **options)  # type: ignore[arg-type]
        ds.save_as(path, enforce_file_format=True)
    else:
        raise ValueError(f"no encoder for transfer syntax {transfer_syntax}")


def compress_series(
    series: SyntheticSeries, transfer_syntax: str, *, max_workers: int = 2
) -> SyntheticSeries:
    """Rewrite every file of ``series`` in place; the encoders run outside the GIL, so in threads."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        list(pool.map(lambda p: compress_file(p, transfer_syntax), series.paths))
    return series
