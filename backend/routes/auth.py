"""Sign-in, token refresh (rotating, with reuse detection) and sign-out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend import audit
from backend.db import execute_rowcount
from backend.deps import StateDep, client_address, unauthorized
from backend.models import RefreshToken, User
from backend.schemas import LoginIn, RefreshIn, TokenOut
from backend.security import hash_refresh_token, issue_access_token, new_refresh_token, verify_password
from backend.state import AppState
from backend.views import user_out

router = APIRouter(prefix="/auth", tags=["auth"])


def _issue(state: AppState, session: Session, user: User, family_id: str) -> TokenOut:
    settings = state.settings
    token, token_hash = new_refresh_token()
    now = datetime.now(UTC)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    access = issue_access_token(state.secret(), user.id, user.role, settings.access_token_ttl_seconds)
    return TokenOut(
        access_token=access,
        refresh_token=token,
        expires_in=settings.access_token_ttl_seconds,
        user=user_out(user),
    )


def _too_many(retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "too many failed sign-ins; try again later",
        headers={"Retry-After": str(retry_after)},
    )


@router.post("/login", response_model=TokenOut, responses={401: {}, 429: {}})
def login(body: LoginIn, request: Request, state: StateDep) -> TokenOut:
    settings, limiter = state.settings, state.limiter
    address = client_address(request)
    account_key, address_key = f"account:{body.username.lower()}", f"address:{address}"
    waits = [
        limiter.retry_after(account_key, settings.login_max_failures_per_account),
        limiter.retry_after(address_key, settings.login_max_failures_per_address),
    ]
    if any(w is not None for w in waits):
        raise _too_many(max(w for w in waits if w is not None))
    with state.db.transaction(readonly=True) as session:
        user = session.scalar(select(User).where(User.username == body.username))
    # Argon2 runs outside any transaction: it is slow on purpose and must not hold the database.
    if not verify_password(user.password_hash if user else None, body.password) or user is None:
        limiter.record(account_key)
        limiter.record(address_key)
        with state.db.transaction() as session:
            audit.append(
                session,
                "auth.login_failed",
                actor_id=user.id if user else None,
                actor=body.username[:64],
                client=address,
                details={"reason": "bad credentials"},
            )
        raise unauthorized("invalid username or password")
    limiter.reset(account_key)
    with state.db.transaction() as session:
        tokens = _issue(state, session, user, str(uuid.uuid4()))
        audit.by_user(session, "auth.login", user, address)
    return tokens


def _revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


@router.post("/refresh", response_model=TokenOut, responses={401: {}})
def refresh(body: RefreshIn, request: Request, state: StateDep) -> TokenOut:
    now = datetime.now(UTC)
    failure: str | None = None
    with state.db.transaction() as session:
        row = session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(body.refresh_token))
        )
        if row is None:
            failure = "unknown refresh token"
        elif row.revoked_at is not None:
            failure = "refresh token revoked"
        elif row.expires_at <= now:
            failure = "refresh token expired"
        else:
            # Conditional update: of two concurrent refreshes with the same token exactly one rotates it.
            rotated = execute_rowcount(
                session,
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
                .values(rotated_at=now),
            )
            user = session.get(User, row.user_id)
            if rotated == 1 and user is not None:
                return _issue(state, session, user, row.family_id)
            # A token that was already rotated is being replayed: someone holds a stolen copy.
            _revoke_family(session, row.family_id, now)
            audit.append(
                session,
                "auth.refresh_reuse",
                actor_id=row.user_id,
                client=client_address(request),
                details={"family": row.family_id},
            )
            failure = "refresh token reused; all sessions of this sign-in revoked"
    raise unauthorized(failure)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(body: RefreshIn, request: Request, state: StateDep) -> Response:
    with state.db.transaction() as session:
        row = session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(body.refresh_token))
        )
        if row is not None:
            _revoke_family(session, row.family_id, datetime.now(UTC))
            user = session.get(User, row.user_id)
            audit.append(
                session,
                "auth.logout",
                actor_id=row.user_id,
                actor=user.username if user else None,
                client=client_address(request),
            )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
