"""Demo users and one demo consult, created idempotently (password "demo" for everyone)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from backend import audit
from backend.db import Database
from backend.models import Consult, User
from backend.security import hash_password
from backend.users import create_user

DEMO_PASSWORD = "demo"
DEMO_USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # username, display name, role, specialties
    ("dr.chen", "Dr. Chen Jing", "specialist", ("cardiology", "radiology", "ultrasound")),
    ("dr.wang", "Dr. Wang Lei", "specialist", ("cardiology",)),
    ("dr.li", "Dr. Li Na", "county_doctor", ()),
    ("student.zhao", "Zhao Min", "trainee", ("cardiology", "radiology", "ultrasound")),
    ("it.admin", "IT Administrator", "it_admin", ()),
)
DEMO_STUDY_UID = "1.2.826.0.1.3680043.10.1234.1"
DEMO_PATIENT_ID = "CT-2026-0042"


def seed_demo(database: Database | str, *, with_consult: bool = True) -> dict[str, int]:
    """Create whatever demo users (and the open demo consult) are missing. Returns username -> id."""
    db = Database(database) if isinstance(database, str) else database
    try:
        with db.transaction(readonly=True) as session:
            existing = {name: uid for name, uid in session.execute(select(User.username, User.id))}
        # One Argon2 hash shared by the demo accounts: they share the password anyway, and seeding
        # stays fast (each hash costs ~0.1 s on purpose).
        shared_hash: str | None = None
        for username, display_name, role, specialties in DEMO_USERS:
            if username in existing:
                continue
            shared_hash = shared_hash or hash_password(DEMO_PASSWORD)
            existing[username] = create_user(
                db,
                username,
                DEMO_PASSWORD,
                role,
                display_name,
                specialties,
                password_hash=shared_hash,
                actor="demo-seed",
            )
        if with_consult:
            _seed_consult(db, existing["dr.li"])
        return existing
    finally:
        if isinstance(database, str):
            db.dispose()


def _seed_consult(db: Database, requested_by_id: int) -> None:
    with db.transaction() as session:
        already = session.scalar(
            select(Consult.id).where(
                Consult.patient_id == DEMO_PATIENT_ID, Consult.requested_by_id == requested_by_id
            )
        )
        if already is not None:
            return
        consult = Consult(
            state="open",
            patient_id=DEMO_PATIENT_ID,
            patient_name="Zhang Wei",
            patient_sex="M",
            patient_birth_date=date(1961, 3, 14),
            question=(
                "Chest CT: 14 mm spiculated nodule in the right upper lobe, new since 2024. "
                "Biopsy, PET-CT or short-interval follow-up?"
            ),
            urgency="urgent",
            specialty="radiology",
            study_instance_uid=DEMO_STUDY_UID,
            study_source="demo",
            requested_by_id=requested_by_id,
            created_at=datetime.now(UTC),
        )
        session.add(consult)
        session.flush()
        audit.append(
            session,
            "consult.create",
            actor_id=requested_by_id,
            actor="demo-seed",
            consult_id=consult.id,
            details={"specialty": "radiology", "urgency": "urgent"},
        )
