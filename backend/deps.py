"""FastAPI dependencies: app state, database sessions, the signed-in user, role checks."""

from __future__ import annotations

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


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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
