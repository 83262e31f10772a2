"""Where a clinician's signing key lives: the OS keyring, next to the refresh token, never on the server
and never in a plain file. The certificate is public (the backend keeps it); only the key is kept here.

Where no secure keyring works (core/client/token_store.py says why), the key is held in memory for the
session: signing still works, and the next session enrols a new key (the backend issues a new
certificate; the old one stays valid for what it signed)."""

from __future__ import annotations

import logging

from core.client.token_store import TokenStore

log = logging.getLogger(__name__)
SERVICE = "teleconsult-signing"


class SigningKeys:
    def __init__(self, store: TokenStore | None = None) -> None:
        self._store = store if store is not None else TokenStore(SERVICE)

    @classmethod
    def in_memory(cls) -> SigningKeys:
        """Keys for this process only (the demo's simulated colleagues; never a real clinician's)."""
        return cls(TokenStore(SERVICE, memory_only=True))

    @property
    def persistent(self) -> bool:
        return self._store.persistent

    @property
    def reason(self) -> str:
        return self._store.reason

    @staticmethod
    def account(base_url: str, username: str) -> str:
        return f"signing-key:{username}@{base_url.rstrip('/')}"

    def load(self, account: str) -> bytes | None:
        text = self._store.load(account)
        return text.encode("ascii") if text else None

    def save(self, account: str, key_pem: bytes) -> None:
        self._store.save(account, key_pem.decode("ascii"))

    def forget(self, account: str) -> None:
        self._store.delete(account)
