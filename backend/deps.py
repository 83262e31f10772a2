"""FastAPI dependencies: app state, database sessions, the signed-in user, role checks."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.models import User
from backend.security import TokenError, decode_access_token
from backend.state import AppState

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.backend
    return state


StateDep = Annotated[AppState, Depends(get_state)]


MAX_ID = 2**31 - 1  # INTEGER on both databases
ConsultId = Annotated[int, Path(ge=1, le=MAX_ID, description="consult id")]


def _trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if ip in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: Request) -> str:
    """The client's address: the peer, or what X-Forwarded-For says when the peer is a trusted proxy.

    The header is read right to left, skipping trusted proxies; the first other address is the client
    (anything left of it was written by the client itself and proves nothing)."""
    peer = request.client.host if request.client else "unknown"
    state: AppState | None = getattr(request.app.state, "backend", None)
    proxies = state.settings.trusted_proxies if state is not None else ()
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else peer


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def user_from_token(state: AppState, session: Session, token: str) -> User:
    try:
        claims = decode_access_token(state.secret(), token)
    except TokenError as exc:
        raise unauthorized(str(exc)) from exc
    user = session.get(User, claims.user_id)
    if user is None:
        raise unauthorized("unknown user")
    if user.disabled:
        raise unauthorized("account disabled")
    return user


def _current_user(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("not signed in")
    with state.db.transaction(readonly=True) as session:
        user = user_from_token(state, session, credentials.credentials)
        session.expunge(user)
        return user


CurrentUser = Annotated[User, Depends(_current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not do this")
        return user

    return check


AnyUser = CurrentUser
AdminUser = Annotated[User, Depends(require_roles("it_admin"))]
ClinicalUser = Annotated[User, Depends(require_roles("specialist", "county_doctor", "trainee"))]
Specialist = Annotated[User, Depends(require_roles("specialist"))]
CountyDoctor = Annotated[User, Depends(require_roles("county_doctor"))]
Participant = Annotated[User, Depends(require_roles("specialist", "county_doctor"))]
