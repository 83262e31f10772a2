"""The synthetic chest CT the demo, the screenshots and the benchmark use: its anatomy sits where a
reader expects it, at the HU a CT shows, and the written files carry the patient they were asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from viewers.dicom.discovery import discover
from viewers.dicom.synthetic import chest_phantom, write_ct_series
from viewers.dicom.volume import load_volume

SHAPE = (60, 128, 128)
SPACING = (2.0, 2.0, 5.0)  # 256 mm field of view, 300 mm from base to apex


@pytest.fixture(scope="module")
def chest() -> np.ndarray:
    return chest_phantom(SHAPE, SPACING, seed=1)


def _pixel(u: float, v: float) -> tuple[int, int]:
    """Row and column of the fractions of the field of view (u: right to left, v: front to back)."""
    return round((v + 1) * SHAPE[1] / 2), round((u + 1) * SHAPE[2] / 2)


def _mean_around(plane: np.ndarray, u: float, v: float, half: int = 2) -> float:
    row, col = _pixel(u, v)
    return float(plane[row - half : row + half + 1, col - half : col + half + 1].mean())


def test_tissues_have_their_ct_numbers(chest: np.ndarray) -> None:
    mid = chest[30]  # halfway up: both lungs, mediastinum, spine
    assert chest.dtype == np.int16 and chest.shape == SHAPE
    assert _mean_around(mid, 0.0, -0.95) == pytest.approx(-1000, abs=8)  # air in front of the chest
    assert _mean_around(mid, -0.45, 0.2) == pytest.approx(-850, abs=8)  # right lung
    assert _mean_around(mid, 0.45, 0.2) == pytest.approx(-850, abs=8)  # left lung
    assert _mean_around(mid, 0.10, 0.27, 1) == pytest.approx(250, abs=15)  # enhanced descending aorta
    assert _mean_around(mid, 0.0, 0.56, 1) == pytest.approx(15, abs=15)  # spinal canal
    vertebra = [_mean_around(chest[k], 0.0, 0.40, 1) for k in range(SHAPE[0])]
    assert max(vertebra) == pytest.approx(700, abs=15)  # vertebral bodies ...
    assert min(vertebra) == pytest.approx(80, abs=15)  # ... and the discs between them
    assert _mean_around(mid, 0.0, -0.50, 1) == pytest.approx(400, abs=15)  # sternum


def test_noise_is_realistic_and_seeded(chest: np.ndarray) -> None:
    row, col = _pixel(-0.45, 0.2)
    patch = chest[30, row - 6 : row + 7, col - 6 : col + 7].astype(float)
    assert patch.std() == pytest.approx(10.0, abs=2.5)
    assert np.array_equal(chest, chest_phantom(SHAPE, SPACING, seed=1))
    assert not np.array_equal(chest, chest_phantom(SHAPE, SPACING, seed=2))
    quiet = chest_phantom(SHAPE, SPACING, seed=1, noise_hu=0.0)
    assert np.abs(chest.astype(int) - quiet).max() < 80  # noise only, around the same anatomy


def test_lungs_grow_from_apex_to_base_and_ribs_come_and_go() -> None:
    quiet = chest_phantom(SHAPE, SPACING, noise_hu=0.0)
    lung_area = (quiet < -800).sum(axis=(1, 2)) - (quiet == -1000).sum(axis=(1, 2))
    assert lung_area[SHAPE[0] - 4] < lung_area[35] / 3  # small near the apex
    assert lung_area[35] > lung_area[3]  # the diaphragm domes take the base
    row, col = _pixel(-0.745, 0.04)  # in the right lateral chest wall, outside the lung
    wall = quiet[10:, row, col]
    assert set(np.unique(wall)) <= {650, 40, -100}
    assert 0.15 < (wall == 650).mean() < 0.6  # ribs on some slices, intercostal spaces between


def test_nodule_is_a_20_mm_sphere_of_soft_tissue_in_the_right_lung() -> None:
    quiet = chest_phantom(SHAPE, SPACING, noise_hu=0.0)
    nodule = quiet == 30
    k = int(np.argmax(nodule.sum(axis=(1, 2))))
    rows, cols = np.nonzero(nodule[k])
    assert cols.mean() < SHAPE[2] / 2  # patient's right is on the image's left
    diameter_x = (cols.max() - cols.min() + 1) * SPACING[0]
    diameter_z = nodule.any(axis=(1, 2)).sum() * SPACING[2]
    assert 15 <= diameter_x <= 25 and 15 <= diameter_z <= 25
    ring = quiet[k, rows.min() - 3, int(cols.mean())]
    assert ring == -850  # surrounded by lung


def test_written_chest_carries_the_demo_patient_and_loads_back(tmp_path: Path) -> None:
    written = write_ct_series(
        tmp_path,
        (6, 64, 64),
        spacing=(4.0, 4.0, 50.0),
        anatomy="chest",
        patient_name="Zhang^Wei",
        patient_id="CT-2026-0042",
        study_description="CT chest with contrast",
    )
    ds = pydicom.dcmread(written.paths[0], stop_before_pixels=True)
    assert (str(ds.PatientName), ds.PatientID) == ("Zhang^Wei", "CT-2026-0042")
    assert ds.StudyDescription == "CT chest with contrast" and ds.BodyPartExamined == "CHEST"
    (patient,) = discover(tmp_path).patients
    assert (patient.patient_name, patient.patient_id) == ("Zhang^Wei", "CT-2026-0042")
    volume = load_volume(patient.studies[0].series[0].instances).volume
    np.testing.assert_array_equal(volume.array, written.hu)  # every HU, noise included, round-trips
    assert volume.spacing == pytest.approx((4.0, 4.0, 50.0))


def test_unknown_anatomy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="anatomy"):
        write_ct_series(tmp_path, anatomy="knee")
