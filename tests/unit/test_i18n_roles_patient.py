from __future__ import annotations

from datetime import date

import pytest

from core.config.roles import LAYOUTS, PERMISSIONS, PanelId, Role, panels_for
from core.consult.context import ConsultContext
from core.consult.patient import Patient
from core.i18n import normalise_language, qm_file, resolve_language, system_language


@pytest.mark.parametrize(
    ("cli", "user", "site", "system", "expected"),
    [
        ("zh_CN", "en", "en", "en", "zh_CN"),
        (None, "zh_CN", "en", "en", "zh_CN"),
        (None, "system", "zh_CN", "en", "zh_CN"),
        (None, "system", "system", "zh_CN", "zh_CN"),
        (None, "system", "system", "en", "en"),
    ],
)
def test_language_precedence(cli: str | None, user: str, site: str, system: str, expected: str) -> None:
    assert resolve_language(cli, user, site, system) == expected


def test_unsupported_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        resolve_language("fr", "system", "system", "en")


@pytest.mark.parametrize(
    ("code", "expected"), [("zh_CN.UTF-8", "zh_CN"), ("zh-Hans", "zh_CN"), ("en_GB", "en"), ("de_DE", "en")]
)
def test_system_locales_map_onto_shipped_languages(code: str, expected: str) -> None:
    assert normalise_language(code) == expected


def test_system_language_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert system_language() == "zh_CN"


def test_chinese_catalogue_ships() -> None:
    path = qm_file("zh_CN")
    assert path is not None and path.is_file() and path.stat().st_size > 1000
    assert qm_file("en") is None


def test_every_role_has_a_layout_with_unique_panels() -> None:
    for role in Role:
        panels = panels_for(role)
        assert panels, role
        assert len(panels) == len(set(panels)), role
        placed: set[PanelId] = set()
        for place in LAYOUTS[role]:
            anchor = place.right_of or place.below or place.tab_with
            assert anchor is None or anchor in placed, f"{role}: {place.panel} placed before {anchor}"
            placed.add(place.panel)


def test_role_composition() -> None:
    assert set(panels_for(Role.SPECIALIST)) == {
        PanelId.WORKLIST,
        PanelId.CONSULTATION,
        PanelId.IMAGING,
        PanelId.VITALS,
        PanelId.PLUGINS,
        PanelId.CHAT,
    }
    assert PanelId.WORKLIST not in panels_for(Role.TRAINEE)
    it_panels = set(panels_for(Role.IT_ADMIN))
    it_only = {PanelId.DIAGNOSTICS, PanelId.PLUGINS, PanelId.USERS}
    assert it_panels == it_only, "IT must not see clinical panels"
    assert PERMISSIONS[Role.SPECIALIST].accept_consult and not PERMISSIONS[Role.COUNTY_DOCTOR].accept_consult
    assert PERMISSIONS[Role.COUNTY_DOCTOR].request_consult
    assert not PERMISSIONS[Role.TRAINEE].see_identity and not PERMISSIONS[Role.TRAINEE].write_notes


def test_pseudonym_is_stable_and_hides_identity() -> None:
    patient = Patient("CT-2026-0042", "Zhang Wei", "M", date(1961, 3, 14))
    salt = b"site-salt"
    first, second = patient.pseudonymised(salt), patient.pseudonymised(salt)
    assert first == second
    assert "Zhang" not in first.name and "0042" not in first.patient_id and first.birth_date is None
    assert patient.pseudonymised(b"other-site") != first
    # The backend's pseudonym (a trainee's worklist) is shown as it is, not hashed a second time.
    assert first.pseudonymised(b"other-site") == first
    # Given the backend's code (a participant's worklist), the class sees the backend's pseudonym.
    coded = Patient("CT-2026-0042", "Zhang Wei", "M", date(1961, 3, 14), pseudonym_code="0A1B2C3D")
    assert coded.pseudonymised(salt).name == "Patient 0A1B2C3D" and coded == patient


def test_age_counts_birthdays() -> None:
    patient = Patient("1", "A", "F", date(1961, 3, 14))
    assert patient.age_on(date(2026, 3, 13)) == 64
    assert patient.age_on(date(2026, 3, 14)) == 65


def test_patient_context_notifies_once_per_change() -> None:
    seen: list[object] = []
    context = ConsultContext()
    context.changed.connect(seen.append)
    patient = Patient("1", "A", "F", None)
    context.open(patient)
    context.open(patient)
    context.close()
    context.close()
    assert seen == [patient, None]
