"""The container's persistence section: the real adapters, wired from the settings."""

from __future__ import annotations

import stat

from dependency_injector import providers

from salesbot.adapters.persistence import PgAccountLocks, run_migrations
from salesbot.entrypoints.container import Container, resolve, shut_down
from salesbot.entrypoints.database import open_database
from salesbot.entrypoints.settings import load_settings
from tests.contracts.seeding import add_account
from tests.secrets import SESSION_SECRET, SESSION_STRING


def settings_for(tmp_path, **overrides):
    return load_settings(env_file=tmp_path / "absent.env", DATA_DIR=tmp_path / "data", **overrides)


def container_for(settings, database_url: str) -> Container:
    return Container(
        settings=providers.Object(settings), database_url=providers.Object(database_url)
    )


async def test_the_embedded_default_works_with_a_generated_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SESSION_SECRET", raising=False)
    settings = settings_for(tmp_path)
    async with open_database(settings) as url:
        run_migrations(url)
        container = container_for(settings, url)
        try:
            uow_factory = await resolve(container.uow_factory())
            async with uow_factory() as uow:
                await add_account(uow)
                await uow.commit()
            async with uow_factory() as uow:
                assert (await uow.accounts.every())[0].session_string == SESSION_STRING
        finally:
            await shut_down(container)
    assert (tmp_path / "data" / "postgres").is_dir()
    secret_file = tmp_path / "data" / "session_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    # The next start reads the same secret back, so the stored sessions still open.
    again = container_for(settings_for(tmp_path), "postgresql://unused@127.0.0.1/unused")
    assert again.session_secret() == container.session_secret()


async def test_postgresql_and_a_configured_secret(tmp_path, database_url, engine):
    settings = settings_for(tmp_path, DATABASE_URL=database_url, SESSION_SECRET=SESSION_SECRET)
    container = container_for(settings, database_url)
    try:
        uow_factory = await resolve(container.uow_factory())
        async with uow_factory() as uow:
            account = await add_account(uow)
            await uow.commit()
        async with uow_factory() as uow:
            assert (await uow.accounts.get(account.id)).session_string == SESSION_STRING
        assert container.session_secret() == SESSION_SECRET
        assert not (tmp_path / "data" / "session_secret").exists()
        assert isinstance(await resolve(container.account_locks()), PgAccountLocks)
    finally:
        await shut_down(container)
