"""A reversible stand-in for the Fernet cipher that still refuses a foreign key."""

from __future__ import annotations

import base64

from salesbot.application.errors import SessionSecretMismatch


class FakeCipher:
    def __init__(self, key: str = "test-key") -> None:
        self._prefix = f"fake:{key}:"

    def encrypt(self, plaintext: str) -> str:
        return self._prefix + base64.urlsafe_b64encode(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        if not token.startswith(self._prefix):
            raise SessionSecretMismatch()
        return base64.urlsafe_b64decode(token[len(self._prefix) :]).decode()
