"""The signed-in user, and user administration (it_admin only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend import audit
from backend.deps import AdminUser, AnyUser, StateDep, client_address
from backend.models import User
from backend.schemas import UserIn, UserOut
from backend.security import hash_password
from backend.views import user_out

router = APIRouter(tags=["users"])


@router.get("/me", response_model=UserOut)
def me(user: AnyUser) -> UserOut:
    return user_out(user)


@router.get("/users", response_model=list[UserOut])
def list_users(_admin: AdminUser, state: StateDep) -> list[UserOut]:
    with state.db.transaction(readonly=True) as session:
        return [user_out(u) for u in session.scalars(select(User).order_by(User.id))]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses={409: {}})
def create_user(body: UserIn, admin: AdminUser, request: Request, state: StateDep) -> UserOut:
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
