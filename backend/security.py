"""Password hashing (Argon2), access tokens (JWT HS256), refresh tokens (opaque) and the login limiter."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the account does not exist, so both paths cost the same (no user enumeration).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    role: str
    expires_at: datetime


class TokenError(Exception):
    pass


def read_or_create_key_file(path: Path, initial: str | None = None) -> str:
    """The JWT secret from its key file, created 0600 (its folder 0700 when created here) with
    `initial` (a secret migrated from the database) or 256 random bits when missing. Written to a
    temporary file and linked into place, so a second process never reads half a key."""
    if not path.exists():
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write((initial or secrets.token_hex(32)) + "\n")
            os.link(tmp, path)  # fails when another process linked its key first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise RuntimeError(f"the key file {path} is empty")
    return value


def issue_access_token(secret: str, user_id: int, role: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_access_token(secret: str, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "typ"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("access token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("invalid access token") from exc
    if claims.get("typ") != "access":
        raise TokenError("not an access token")
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise TokenError("invalid access token") from exc
    if not 0 < user_id < 2**31:
        raise TokenError("invalid access token")
    return AccessClaims(user_id, str(claims.get("role", "")), datetime.fromtimestamp(claims["exp"], UTC))


def new_refresh_token() -> tuple[str, str]:
    """(token for the client, SHA-256 stored in the database). The token has 256 bits of entropy,
    so a fast hash is enough; only the hash is ever stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class FailureLimiter:
    """Sliding-window count of failed logins per key ("account:NAME", "address:IP"), in memory.

    Per process: behind a load balancer this moves to the shared store (Redis) with the rooms."""

    def __init__(self, window_seconds: float, clock: object = time.monotonic) -> None:
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        clock = self._clock
        assert callable(clock)
        return float(clock())

    def _prune(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, key: str, limit: int) -> int | None:
        """Seconds until `key` may try again, or None when it is under `limit`."""
        with self._lock:
            now = self._now()
            times = self._prune(key, now)
            if len(times) < limit:
                return None
            # Blocked until enough of the oldest failures leave the window.
            release = times[len(times) - limit] + self.window
            return max(1, math.ceil(release - now))

    def record(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, deque()).append(self._now())

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
