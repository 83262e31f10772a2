"""Where the refresh token lives: the OS keyring, or memory only. Never a plain file."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
SERVICE = "teleconsult-workstation"
_PLAINTEXT_BACKENDS = ("PlaintextKeyring", "EncryptedKeyring", "Keyring")  # keyrings.alt file stores


class TokenStore:
    """Keeps refresh tokens per (backend, user) in the keyring when a secure one works.

    ``persistent`` says whether tokens survive a restart; ``reason`` says why not, for the status bar.
    """

    def __init__(self, service: str = SERVICE, *, memory_only: bool = False) -> None:
        self.service = service
        self._memory: dict[str, str] = {}
        self.persistent, self.reason = (False, "memory only, by request") if memory_only else self._probe()

    def _probe(self) -> tuple[bool, str]:
        try:
            import keyring
            import keyring.errors
        except ImportError:
            return False, "the keyring package is not installed"
        backend = keyring.get_keyring()
        kind = type(backend)
        if kind.__module__.startswith("keyrings.alt") and kind.__name__ in _PLAINTEXT_BACKENDS:
            return False, f"{kind.__name__} stores secrets in a plain file; refused"
        if kind.__module__.startswith("keyring.backends.fail") or (
            kind.__name__ == "ChainerBackend" and not getattr(backend, "backends", None)
        ):
            return False, "no OS keyring is available (no Secret Service / Keychain / Credential Manager)"
        try:
            keyring.set_password(self.service, "__probe__", "ok")
            ok = keyring.get_password(self.service, "__probe__") == "ok"
            keyring.delete_password(self.service, "__probe__")
        except Exception as exc:  # every backend raises its own kinds; any failure means "not usable"
            return False, f"the keyring ({kind.__name__}) failed: {exc}"
        if not ok:
            return False, f"the keyring ({kind.__name__}) did not return what was stored"
        return True, kind.__name__

    @staticmethod
    def account(base_url: str, username: str) -> str:
        return f"{username}@{base_url.rstrip('/')}"

    def save(self, account: str, token: str | None) -> None:
        if token is None:
            self.delete(account)
            return
        if self.persistent:
            import keyring

            try:
                keyring.set_password(self.service, account, token)
                return
            except Exception as exc:
                log.error("keyring write failed, keeping the token in memory only: %s", exc)
                self.persistent, self.reason = False, f"keyring write failed: {exc}"
        self._memory[account] = token

    def load(self, account: str) -> str | None:
        if self.persistent:
            import keyring

            try:
                return keyring.get_password(self.service, account)
            except Exception as exc:
                log.error("keyring read failed: %s", exc)
        return self._memory.get(account)

    def delete(self, account: str) -> None:
        self._memory.pop(account, None)
        if self.persistent:
            import keyring
            import keyring.errors

            try:
                keyring.delete_password(self.service, account)
            except keyring.errors.PasswordDeleteError:
                pass
            except Exception as exc:
                log.error("keyring delete failed: %s", exc)
