"""SettingRepository: small operator-edited values that survive restarts."""

from __future__ import annotations


async def test_a_setting_is_kept_and_replaced(new_uow):
    script = "Вы — менеджер по продажам.\n" * 2000  # long scripts are normal
    async with new_uow() as uow:
        assert await uow.settings.get("sales_prompt") is None
        await uow.settings.set("sales_prompt", "first")
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.settings.get("sales_prompt") == "first"
        await uow.settings.set("sales_prompt", script)
        await uow.settings.set("other", "")
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.settings.get("sales_prompt") == script
        assert await uow.settings.get("other") == ""
