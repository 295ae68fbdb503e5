"""On PostgreSQL the outbox claim reads an account's due messages in its own order from
ix_messages_outbox_order and checks each against ix_messages_unsent_by_dialog: should the
index's expression drift from the claim's ORDER BY, every claim would sort every due
message again (~6 ms with 750 due, bench/outbox_claim.py), with nothing else to tell."""

from __future__ import annotations

from datetime import timedelta

from salesbot.adapters.persistence.repositories.messages import _CLAIM, _claim_with_dialog
from salesbot.domain.message import OutKind
from salesbot.domain.quota import OVER_CAP_KINDS
from tests.contracts.seeding import T0, account_and_dialog, outgoing


async def _plan(engine, claim, params: dict) -> str:
    """The plan PostgreSQL keeps for the claim as a prepared statement (a generic plan,
    which knows the constants written into the SQL but not the bound values)."""
    compiled = claim.compile(dialect=engine.dialect)
    values = {**compiled.params, **params}  # the statement's own values (`sending`) too
    arguments = [getattr(values[name], "value", values[name]) for name in compiled.positiontup]
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        async with driver.transaction():
            # Only an ordered index read avoids a sort now, and a sequential scan is out
            # whatever the table's size: what is left shows what the indexes can serve.
            await driver.execute(
                "SET LOCAL enable_sort = off; SET LOCAL enable_seqscan = off; "
                "SET LOCAL plan_cache_mode = force_generic_plan"
            )
            rows = await driver.fetch("EXPLAIN " + compiled.string, *arguments)
    return "\n".join(row[0] for row in rows)


async def test_the_claim_reads_the_outbox_in_order_without_sorting_it(engine, uow_factory):
    account, dialog = await account_and_dialog(uow_factory)
    async with uow_factory() as uow:
        await uow.messages.add(outgoing(dialog, "opener", kind=OutKind.OPENER))
        await uow.messages.add(outgoing(dialog, "reply"))
        await uow.commit()
    params = {"claimer": account.id, "due_by": T0 + timedelta(minutes=1)}
    # The claims of a day whose cap is used take the operator's messages alone.
    claims = [*_CLAIM.values(), *(_claim_with_dialog(c, OVER_CAP_KINDS) for c in (True, False))]
    for claim in claims:
        plan = await _plan(engine, claim, params)
        assert "ix_messages_outbox_order" in plan, plan
        assert "ix_messages_unsent_by_dialog" in plan, plan
        assert "Sort" not in plan, plan
