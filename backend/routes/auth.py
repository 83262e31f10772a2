"""Sign-in, token refresh (rotating, with reuse detection) and sign-out."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
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


class AccountLocks:
    """Which accounts are locked for everyone, on evidence no single address can produce.

    Failed sign-ins are kept per account with their address for the limiter's window. An account is
    locked only when it has at least `max_failures` failures from at least `min_addresses` distinct
    addresses; one outside address can then slow itself down (per account and address, per address)
    but never lock the real user out. A lock lasts one window from the failure that set it, or until
    IT unlocks the account."""

    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[tuple[float, str]]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def _prune(self, account: str, now: float) -> deque[tuple[float, str]]:
        failures = self._failures.setdefault(account, deque())
        while failures and failures[0][0] <= now - self.window:
            failures.popleft()
        return failures

    def record(self, account: str, address: str, max_failures: int, min_addresses: int) -> bool:
        """Count a failure; True when it locks the account (it was not locked before)."""
        with self._lock:
            now = self._clock()
            failures = self._prune(account, now)
            failures.append((now, address))
            if self._retry_after(account, now) is not None:
                return False
            if len(failures) >= max_failures and len({a for _, a in failures}) >= min_addresses:
                self._locked_until[account] = now + self.window
                return True
            return False

    def _retry_after(self, account: str, now: float) -> int | None:
        until = self._locked_until.get(account)
        if until is None:
            return None
        if until <= now:
            del self._locked_until[account]
            return None
        return max(1, math.ceil(until - now))

    def retry_after(self, account: str) -> int | None:
        with self._lock:
            return self._retry_after(account, self._clock())

    def is_locked(self, account: str) -> bool:
        return self.retry_after(account) is not None

    def unlock(self, account: str) -> bool:
        """Lift a lock and forget the account's failures; True when it was locked."""
        with self._lock:
            was_locked = self._retry_after(account, self._clock()) is not None
            self._locked_until.pop(account, None)
            self._failures.pop(account, None)
            return was_locked


def account_locks(request: Request) -> AccountLocks:
    """The running app's account locks (one per app, made on first use)."""
    app_state = request.app.state
    locks: AccountLocks | None = getattr(app_state, "account_locks", None)
    if locks is None:
        with _LOCKS_GUARD:
            locks = getattr(app_state, "account_locks", None)
            if locks is None:
                backend: AppState = app_state.backend
                locks = AccountLocks(backend.settings.login_failure_window_seconds)
                app_state.account_locks = locks
    return locks


_LOCKS_GUARD = threading.Lock()


def pair_key(username: str, address: str) -> str:
    return f"pair:{username.lower()}|{address}"


@router.post("/login", response_model=TokenOut, responses={401: {}, 429: {}})
def login(body: LoginIn, request: Request, state: StateDep) -> TokenOut:
    settings, limiter, locks = state.settings, state.limiter, account_locks(request)
    address = client_address(request)
    account = body.username.lower()
    # Per (account, address) and per address: an attacker backs off without touching anyone else.
    pair, address_key = pair_key(account, address), f"address:{address}"
    waits = [
        limiter.retry_after(pair, settings.login_max_failures_per_account),
        limiter.retry_after(address_key, settings.login_max_failures_per_address),
        locks.retry_after(account),
    ]
    if any(w is not None for w in waits):
        raise _too_many(max(w for w in waits if w is not None))
    with state.db.transaction(readonly=True) as session:
        user = session.scalar(select(User).where(User.username == body.username))
    # Argon2 runs outside any transaction: it is slow on purpose and must not hold the database.
    if not verify_password(user.password_hash if user else None, body.password) or user is None:
        limiter.record(pair)
        limiter.record(address_key)
        locked = locks.record(
            account, address, settings.login_max_failures_per_account, settings.login_lock_min_addresses
        )
        with state.db.transaction() as session:
            audit.append(
                session,
                "auth.login_failed",
                actor_id=user.id if user else None,
                actor=body.username[:64],
                client=address,
                details={"reason": "bad credentials"},
            )
            if locked:
                audit.append(
                    session,
                    "auth.account_locked",
                    actor_id=user.id if user else None,
                    actor=body.username[:64],
                    client=address,
                    details={"reason": "failed sign-ins from several addresses"},
                )
        raise unauthorized("invalid username or password")
    if user.disabled:
        with state.db.transaction() as session:
            audit.append(
                session,
                "auth.login_failed",
                actor_id=user.id,
                actor=user.username,
                client=address,
                details={"reason": "account disabled"},
            )
        raise unauthorized("account disabled")
    limiter.reset(pair)
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
        elif (owner := session.get(User, row.user_id)) is None or owner.disabled:
            failure = "account disabled"
        else:
            # Conditional update: of two concurrent refreshes with the same token exactly one rotates it.
            rotated = execute_rowcount(
                session,
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
                .values(rotated_at=now),
            )
            user = session.get(User, row.user_id)
            if rotated == 1 and user is not None and not user.disabled:
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
