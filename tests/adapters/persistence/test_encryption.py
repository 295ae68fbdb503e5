"""Session strings are encrypted at rest; a wrong SESSION_SECRET is a clear error."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import text

from salesbot.adapters.persistence import (
    FernetSessionCipher,
    load_or_create_session_secret,
    sql_uow_factory,
)
from salesbot.application.errors import SessionSecretMismatch
from tests.contracts.seeding import add_account
from tests.secrets import SESSION_STRING


async def test_the_database_holds_only_ciphertext(engine, uow_factory):
    async with uow_factory() as uow:
        account = await add_account(uow)
        await uow.commit()
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT session_string FROM accounts WHERE id = :id"), {"id": account.id}
            )
        ).scalar_one()
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert SESSION_STRING not in stored
    assert SESSION_STRING[:24] not in stored
    async with uow_factory() as uow:
        assert (await uow.accounts.get(account.id)).session_string == SESSION_STRING


async def test_a_proxy_with_its_password_is_stored_encrypted(engine, uow_factory):
    proxy = "socks5://buyer:proxy-pass-123@10.0.0.1:1080"
    async with uow_factory() as uow:
        account = await add_account(uow)
        account.proxy = proxy
        await uow.accounts.update(account)
        await uow.commit()
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT proxy FROM accounts WHERE id = :id"), {"id": account.id}
            )
        ).scalar_one()
    assert stored.startswith("gAAAAA")
    assert "proxy-pass-123" not in stored
    async with uow_factory() as uow:
        assert (await uow.accounts.get(account.id)).proxy == proxy
        assert (await uow.accounts.get_by_phone(account.phone)).proxy == proxy


async def test_a_wrong_session_secret_is_named_not_a_crash_later(engine, uow_factory):
    async with uow_factory() as uow:
        account = await add_account(uow)
        await uow.commit()
    wrong = sql_uow_factory(engine, FernetSessionCipher("not-the-secret-they-were-stored-with"))
    async with wrong() as uow:
        with pytest.raises(SessionSecretMismatch, match="SESSION_SECRET"):
            await uow.accounts.get(account.id)
        with pytest.raises(SessionSecretMismatch):
            await uow.accounts.every()


def test_the_cipher_round_trips_and_each_token_differs():
    cipher = FernetSessionCipher("a secret")
    first, second = cipher.encrypt("session"), cipher.encrypt("session")
    assert first != second
    assert cipher.decrypt(first) == cipher.decrypt(second) == "session"
    with pytest.raises(SessionSecretMismatch):
        FernetSessionCipher("another secret").decrypt(first)
    with pytest.raises(SessionSecretMismatch):
        cipher.decrypt("plain text, never encrypted")
    with pytest.raises(ValueError, match="SESSION_SECRET"):
        FernetSessionCipher("")


def test_a_generated_secret_is_kept_private_and_reused(tmp_path):
    path = tmp_path / "new" / "data" / "session_secret"
    secret = load_or_create_session_secret(path)
    assert len(secret) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_session_secret(path) == secret
    assert [p.name for p in path.parent.iterdir()] == ["session_secret"]  # no temporary left


def test_a_secret_file_readable_by_others_is_made_private(tmp_path):
    path = tmp_path / "session_secret"
    path.write_text("kept-secret\n")
    path.chmod(0o644)
    assert load_or_create_session_secret(path) == "kept-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_emptied_secret_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "session_secret"
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(ValueError, match="empty"):
        load_or_create_session_secret(path)
