"""Every repository port method exists, with the port's parameters, on the fake and on SQL,
and every query port method on SQL: a method added to a port without its implementations
fails here, not at run time."""

from __future__ import annotations

import inspect

import pytest

from salesbot.adapters.persistence import queries as sql_queries
from salesbot.adapters.persistence import repositories as sql
from salesbot.application import ports
from salesbot.application.admin import queries as admin_queries
from salesbot.application.campaigns import queries as campaign_queries
from salesbot.application.conversation import queries as conversation_queries
from tests.fakes import unit_of_work as fake

IMPLEMENTATIONS = {
    ports.AccountRepository: (sql.SqlAccountRepository, fake._Accounts),
    ports.DialogRepository: (sql.SqlDialogRepository, fake._Dialogs),
    ports.MessageRepository: (sql.SqlMessageRepository, fake._Messages),
    ports.DoNotContactRepository: (sql.SqlDoNotContactRepository, fake._DoNotContact),
    ports.PeerRepository: (sql.SqlPeerRepository, fake._Peers),
    ports.SettingRepository: (sql.SqlSettingRepository, fake._Settings),
    ports.UpdateStateRepository: (sql.SqlUpdateStateRepository, fake._UpdateStates),
    ports.AdminUpdateRepository: (sql.SqlAdminUpdateRepository, fake._AdminUpdates),
    ports.CampaignRepository: (sql.SqlCampaignRepository, fake._Campaigns),
    ports.LeadRepository: (sql.SqlLeadRepository, fake._Leads),
    ports.WebhookEventRepository: (sql.SqlWebhookEventRepository, fake._WebhookEvents),
}
QUERIES = {
    admin_queries.DialogViews: (sql_queries.SqlDialogViews,),
    admin_queries.StatsQuery: (sql_queries.SqlStatsQuery,),
    admin_queries.ExportQuery: (sql_queries.SqlExportQuery,),
    conversation_queries.ConversationQueries: (sql_queries.SqlConversationQueries,),
    campaign_queries.CampaignViews: (sql_queries.SqlCampaignViews,),
}
CASES = [
    (port, implementation, name)
    for port, implementations in {**IMPLEMENTATIONS, **QUERIES}.items()
    for implementation in implementations
    for name, member in vars(port).items()
    if callable(member) and not name.startswith("_")
]


@pytest.mark.parametrize(
    ("port", "implementation", "name"),
    CASES,
    ids=[f"{i.__name__}.{n}" for _, i, n in CASES],
)
def test_the_implementation_has_the_ports_method(port, implementation, name):
    assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
    wanted = inspect.signature(getattr(port, name)).parameters
    found = inspect.signature(getattr(implementation, name)).parameters
    assert list(found) == list(wanted)
    for parameter in wanted.values():
        assert found[parameter.name].kind == parameter.kind
        assert found[parameter.name].default == parameter.default


def test_every_repository_port_is_checked():
    unit_of_work_ports = {
        inspect.get_annotations(member.fget, eval_str=True)["return"]
        for member in vars(ports.UnitOfWork).values()
        if isinstance(member, property)
    }
    assert unit_of_work_ports == set(IMPLEMENTATIONS)
