"""The signed-in user, and user administration (it_admin only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import audit
from backend.deps import MAX_ID, AdminUser, AnyUser, StateDep, client_address
from backend.models import RefreshToken, User
from backend.routes.auth import account_locks
from backend.routes.pki import revoke_user_certificates
from backend.schemas import UserIn, UserOut
from backend.security import hash_password, hash_refresh_token, verify_password
from backend.users import password_problem
from backend.views import user_out

router = APIRouter(tags=["users"])

Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class AdminUserOut(UserOut):
    """A user as IT sees it: with whether the account is disabled or locked."""

    disabled: bool = False
    locked: bool = False


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old_password: Password
    new_password: Password
    # The sign-in to keep: its refresh token. Every other refresh token of the user is revoked.
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new_password: Password


def _admin_out(request: Request, user: User) -> AdminUserOut:
    base = user_out(user).model_dump()
    locked = account_locks(request).is_locked(user.username.lower())
    return AdminUserOut(**base, disabled=bool(user.disabled), locked=locked)


def _refuse_weak(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise HTTPException(422, problem)


def _revoke_tokens(session: Session, user_id: int, keep_family: str | None = None) -> None:
    query = update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    if keep_family is not None:
        query = query.where(RefreshToken.family_id != keep_family)
    session.execute(query.values(revoked_at=datetime.now(UTC)))


def _target(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    return user


@router.get("/me", response_model=UserOut)
def me(user: AnyUser) -> UserOut:
    return user_out(user)


@router.post(
    "/me/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses={403: {}}
)
def change_password(body: PasswordChangeIn, user: AnyUser, request: Request, state: StateDep) -> Response:
    """Change one's own password with the old one; other sign-ins (refresh tokens) are revoked."""
    if not verify_password(user.password_hash, body.old_password):
        with state.db.transaction() as session:
            audit.by_user(session, "user.password_change_failed", user, client_address(request), details={})
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the old password is wrong")
    _refuse_weak(body.new_password, user.username)
    new_hash = hash_password(body.new_password)
    with state.db.transaction() as session:
        keep: str | None = None
        if body.refresh_token is not None:
            row = session.scalar(
                select(RefreshToken).where(
                    RefreshToken.token_hash == hash_refresh_token(body.refresh_token),
                    RefreshToken.user_id == user.id,
                )
            )
            keep = row.family_id if row is not None else None
        target = _target(session, user.id)
        target.password_hash = new_hash
        _revoke_tokens(session, user.id, keep)
        audit.by_user(session, "user.password_change", user, client_address(request), details={})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users", response_model=list[AdminUserOut])
def list_users(_admin: AdminUser, request: Request, state: StateDep) -> list[AdminUserOut]:
    with state.db.transaction(readonly=True) as session:
        return [_admin_out(request, u) for u in session.scalars(select(User).order_by(User.id))]


@router.post(
    "/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses={409: {}, 422: {}}
)
def create_user(body: UserIn, admin: AdminUser, request: Request, state: StateDep) -> UserOut:
    _refuse_weak(body.password, body.username)  # the same rule as a change or an IT reset
    password_hash = hash_password(body.password)
    try:
        with state.db.transaction() as session:
            user = User(
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                specialties=list(body.specialties),
                password_hash=password_hash,
            )
            session.add(user)
            session.flush()
            audit.by_user(
                session,
                "user.create",
                admin,
                client_address(request),
                details={"user_id": user.id, "username": user.username, "role": user.role},
            )
            return user_out(user)
    except IntegrityError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username!r} exists") from exc


UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="user id")]


def _set_disabled(
    user_id: int, disabled: bool, admin: User, request: Request, state: StateDep
) -> AdminUserOut:
    if disabled and user_id == admin.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot disable your own account")
    with state.db.transaction() as session:
        user = _target(session, user_id)
        user.disabled = disabled
        revoked = 0
        if disabled:
            _revoke_tokens(session, user.id)
            # a disabled clinician's signing certificates can sign nothing more (re-enabling does not
            # bring them back: the clinician enrols a new key)
            revoked = revoke_user_certificates(session, user.id, "account disabled")
        audit.by_user(
            session,
            "user.disable" if disabled else "user.enable",
            admin,
            client_address(request),
            details={"user_id": user.id, "username": user.username}
            | ({"certificates_revoked": revoked} if revoked else {}),
        )
        return _admin_out(request, user)


@router.post("/users/{user_id}/disable", response_model=AdminUserOut, responses={404: {}, 409: {}})
def disable_user(user_id: UserId, admin: AdminUser, request: Request, state: StateDep) -> AdminUserOut:
    """Disable an account: it can no longer sign in, and its sessions end."""
    return _set_disabled(user_id, True, admin, request, state)


@router.post("/users/{user_id}/enable", response_model=AdminUserOut, responses={404: {}})
def enable_user(user_id: UserId, admin: AdminUser, request: Request, state: StateDep) -> AdminUserOut:
    return _set_disabled(user_id, False, admin, request, state)


@router.post("/users/{user_id}/password", response_model=AdminUserOut, responses={404: {}, 422: {}})
def reset_password(
    user_id: UserId, body: PasswordResetIn, admin: AdminUser, request: Request, state: StateDep
) -> AdminUserOut:
    """IT sets a new password; every sign-in of the user is revoked."""
    with state.db.transaction(readonly=True) as session:
        username = _target(session, user_id).username
    _refuse_weak(body.new_password, username)
    new_hash = hash_password(body.new_password)
    with state.db.transaction() as session:
        user = _target(session, user_id)
        user.password_hash = new_hash
        _revoke_tokens(session, user.id)
        audit.by_user(
            session,
            "user.password_reset",
            admin,
            client_address(request),
            details={"user_id": user.id, "username": user.username},
        )
        return _admin_out(request, user)


@router.post("/users/{user_id}/unlock", response_model=AdminUserOut, responses={404: {}})
def unlock_user(user_id: UserId, admin: AdminUser, request: Request, state: StateDep) -> AdminUserOut:
    """Lift a sign-in lock on the account (and forget its recent failures)."""
    with state.db.transaction() as session:
        user = _target(session, user_id)
        was_locked = account_locks(request).unlock(user.username.lower())
        audit.by_user(
            session,
            "user.unlock",
            admin,
            client_address(request),
            details={"user_id": user.id, "username": user.username, "was_locked": was_locked},
        )
        return _admin_out(request, user)
