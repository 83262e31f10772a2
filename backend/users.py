"""Creating users outside a request: the CLI and the demo seed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from backend import audit
from backend.db import Database
from backend.models import User
from backend.schemas import ROLES
from backend.security import hash_password


class UserExistsError(Exception):
    pass


def create_user(
    db: Database,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    specialties: Sequence[str] = (),
    *,
    password_hash: str | None = None,
    actor: str = "system",
) -> int:
    """Create a user and audit it; returns the new id. Raises UserExistsError or ValueError."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not username or not password:
        raise ValueError("username and password must not be empty")
    hashed = password_hash or hash_password(password)
    with db.transaction() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise UserExistsError(username)
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            specialties=[s.strip() for s in specialties if s.strip()],
            password_hash=hashed,
        )
        session.add(user)
        session.flush()
        audit.append(
            session,
            "user.create",
            actor=actor,
            details={"user_id": user.id, "username": username, "role": role},
        )
        return user.id
