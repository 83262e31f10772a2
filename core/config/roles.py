"""Roles, what each may do, and which panels compose each role's main window. Qt-free."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.i18n import tr


class Role(StrEnum):
    SPECIALIST = "specialist"
    COUNTY_DOCTOR = "county_doctor"
    TRAINEE = "trainee"
    IT_ADMIN = "it_admin"


class PanelId(StrEnum):
    WORKLIST = "worklist"
    CONSULTATION = "consultation"
    IMAGING = "imaging"
    VITALS = "vitals"
    PLUGINS = "plugins"
    CHAT = "chat"
    DIAGNOSTICS = "diagnostics"
    USERS = "users"


class Area(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BOTTOM = "bottom"


@dataclass(frozen=True)
class Place:
    """Where a panel goes: into an area, split off (right of / below) a panel already placed, or as a tab."""

    panel: PanelId
    area: Area | None = None
    right_of: PanelId | None = None
    below: PanelId | None = None
    tab_with: PanelId | None = None
    size: int | None = None  # preferred width (right_of/area) or height (below) in pixels


@dataclass(frozen=True)
class Permissions:
    request_consult: bool = False
    accept_consult: bool = False
    annotate: bool = False
    write_notes: bool = False
    see_identity: bool = True  # False: pseudonymised (teaching)
    administer: bool = False


PERMISSIONS: dict[Role, Permissions] = {
    Role.SPECIALIST: Permissions(accept_consult=True, annotate=True, write_notes=True),
    Role.COUNTY_DOCTOR: Permissions(request_consult=True, annotate=True, write_notes=True),
    Role.TRAINEE: Permissions(see_identity=False),
    Role.IT_ADMIN: Permissions(see_identity=False, administer=True),
}

W = PanelId
LAYOUTS: dict[Role, tuple[Place, ...]] = {
    # The specialist triages, reads the study, talks and watches the patient at once.
    Role.SPECIALIST: (
        Place(W.WORKLIST, area=Area.LEFT, size=420),
        Place(W.IMAGING, right_of=W.WORKLIST, size=680),
        Place(W.CONSULTATION, right_of=W.IMAGING, size=480),
        Place(W.VITALS, below=W.CONSULTATION, size=420),
        Place(W.CHAT, below=W.WORKLIST, size=420),
        Place(W.PLUGINS, tab_with=W.CHAT),
    ),
    # At the bedside the call and the patient come first; the worklist holds one's own requests.
    Role.COUNTY_DOCTOR: (
        Place(W.CONSULTATION, area=Area.LEFT, size=760),
        Place(W.VITALS, right_of=W.CONSULTATION, size=520),
        Place(W.IMAGING, below=W.VITALS, size=360),
        Place(W.WORKLIST, below=W.CONSULTATION, size=260),
        Place(W.CHAT, tab_with=W.WORKLIST),
        Place(W.PLUGINS, tab_with=W.IMAGING),
    ),
    # Trainees follow along: no worklist, nothing to accept, identities pseudonymised.
    Role.TRAINEE: (
        Place(W.CONSULTATION, area=Area.LEFT, size=640),
        Place(W.IMAGING, right_of=W.CONSULTATION, size=640),
        Place(W.VITALS, below=W.CONSULTATION, size=300),
        Place(W.CHAT, below=W.IMAGING, size=300),
    ),
    # IT sees the system, never clinical content.
    Role.IT_ADMIN: (
        Place(W.DIAGNOSTICS, area=Area.LEFT, size=900),
        Place(W.PLUGINS, right_of=W.DIAGNOSTICS, size=500),
        Place(W.USERS, below=W.DIAGNOSTICS, size=360),
    ),
}


def panels_for(role: Role) -> list[PanelId]:
    return [place.panel for place in LAYOUTS[role]]


def specialty_text(specialty: str) -> str:
    return {
        "radiology": tr("Worklist", "Radiology"),
        "cardiology": tr("Worklist", "Cardiology"),
        "ultrasound": tr("Worklist", "Ultrasound"),
        "oncology": tr("Worklist", "Oncology"),
        "stroke": tr("Worklist", "Stroke"),
    }.get(specialty, specialty)
