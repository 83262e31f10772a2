"""Creating users outside a request (the CLI and the demo seed) and the password rule."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from backend import audit
from backend.db import Database
from backend.models import User
from backend.schemas import ROLES
from backend.security import hash_password


class UserExistsError(Exception):
    pass


MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "resources" / "passwords" / "common.txt"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (comments and blank lines skipped)."""
    try:
        lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = ["password123", "1234567890", "qwertyuiop", "iloveyou123", "password1234"]
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def password_problem(password: str, username: str) -> str | None:
    """Why `password` is refused for `username`, or None when it passes the rule."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if lowered in common_passwords():
        return "password is too common"
    if username and username.lower() in lowered:
        return "password must not contain the username"
    return None


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
    check_password: bool = False,
) -> int:
    """Create a user and audit it; returns the new id. Raises UserExistsError or ValueError (also for
    a password the rule refuses, with `check_password`: the command line sets it)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not username or not password:
        raise ValueError("username and password must not be empty")
    hashed = password_hash or hash_password(password)
    with db.transaction() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise UserExistsError(username)
        if check_password and (problem := password_problem(password, username)) is not None:
            raise ValueError(problem)
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
