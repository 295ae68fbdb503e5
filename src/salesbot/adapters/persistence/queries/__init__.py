"""SQL implementations of the query ports: what the operator reads and the searches across
dialogs, each method in a read transaction of its own."""

from salesbot.adapters.persistence.queries.campaigns import SqlCampaignViews
from salesbot.adapters.persistence.queries.conversation import SqlConversationQueries
from salesbot.adapters.persistence.queries.dialog_views import SqlDialogViews
from salesbot.adapters.persistence.queries.exports import SqlExportQuery
from salesbot.adapters.persistence.queries.stats import SqlStatsQuery

__all__ = [
    "SqlCampaignViews",
    "SqlConversationQueries",
    "SqlDialogViews",
    "SqlExportQuery",
    "SqlStatsQuery",
]
