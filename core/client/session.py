"""Who is signed in, and when the workstation locks for inactivity. Qt-free."""

from __future__ import annotations

import time
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from core.client.backend import UserInfo
from core.observable import Event


class InactivityLock:
    """Locks after ``minutes`` without input. The unlock check works even when the backend is away:
    the password is verified against an in-memory Argon2 hash taken at sign-in (never written down)."""

    def __init__(self, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = minutes * 60.0
        self._clock = clock
        self._last = clock()
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._hash: str | None = None
        self.locked = False
        self.changed: Event[[bool]] = Event()

    def remember(self, password: str) -> None:
        self._hash = self._hasher.hash(password)

    def touch(self) -> None:
        if not self.locked:
            self._last = self._clock()

    def check(self) -> bool:
        """Lock when the time is up; returns whether the workstation is locked."""
        if not self.locked and self._clock() - self._last >= self.timeout_s:
            self.locked = True
            self.changed.emit(True)
        return self.locked

    def lock_now(self) -> None:
        if not self.locked:
            self.locked = True
            self.changed.emit(True)

    def unlock(self, password: str) -> bool:
        if self._hash is None:
            return False
        try:
            self._hasher.verify(self._hash, password)
        except VerificationError:
            return False
        self.locked = False
        self._last = self._clock()
        self.changed.emit(False)
        return True


class SignIn:
    """The signed-in user, observed by the status bar and the panels."""

    def __init__(self) -> None:
        self.changed: Event[[UserInfo | None]] = Event()
        self.user: UserInfo | None = None

    def set(self, user: UserInfo | None) -> None:
        if user != self.user:
            self.user = user
            self.changed.emit(user)
