"""Session strings encrypted at rest: Fernet with a key derived from SESSION_SECRET.

A Pyrogram session string is a full login to a Telegram account, so the database never
holds one in clear. The key is derived with scrypt, so a weak SESSION_SECRET typed by a
human still costs an attacker holding a database dump real work per guess. When
SESSION_SECRET is unset, `load_or_create_session_secret` keeps a generated one in DATA_DIR.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from salesbot.adapters.logging import secret_mask
from salesbot.application.errors import SessionSecretMismatch

log = logging.getLogger(__name__)

# Fixed, public salt: it separates our keys from any other use of the same secret. The
# secret itself is what must be unguessable.
_SALT = b"salesbot/session-strings/v1"
_SCRYPT_N = 2**15  # ~50 ms and 32 MiB once per process


@functools.lru_cache(maxsize=8)
def _derive_key(secret: str) -> bytes:
    kdf = Scrypt(salt=_SALT, length=32, n=_SCRYPT_N, r=8, p=1)
    return base64.urlsafe_b64encode(kdf.derive(secret.encode()))


class FernetSessionCipher:
    """Implements SessionCipher; `decrypt` raises SessionSecretMismatch on a foreign key."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("SESSION_SECRET must not be empty")
        self._fernet = Fernet(_derive_key(secret))
        self._masked: set[str] = set()

    def _mask(self, plaintext: str) -> None:
        # Every session string this process handles is hidden from the logs.
        if plaintext not in self._masked:
            self._masked.add(plaintext)
            secret_mask.add(plaintext)

    def encrypt(self, plaintext: str) -> str:
        self._mask(plaintext)
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            plaintext = self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise SessionSecretMismatch() from None
        self._mask(plaintext)
        return plaintext


def load_or_create_session_secret(path: Path) -> str:
    """The secret kept in `path`, generated there (mode 0600) on first use.

    Creation is atomic: the secret is written to a private temporary file and linked into
    place, so two processes starting together agree on one secret and neither ever reads
    a half-written file.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = secrets.token_urlsafe(32)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(secret + "\n")
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
                log.warning(
                    "SESSION_SECRET is not set: generated one in %s. Back this file up: "
                    "without it the stored Telegram sessions cannot be read.",
                    path,
                )
        finally:
            temporary.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        log.warning("%s was readable by others (mode %o): now 0600", path, mode)
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise ValueError(f"{path} is empty: restore the SESSION_SECRET it held, or set it")
    secret_mask.add(secret)
    return secret
