"""SQL implementations of the repository ports, one module per aggregate."""

from salesbot.adapters.persistence.repositories.accounts import SqlAccountRepository
from salesbot.adapters.persistence.repositories.admin_updates import SqlAdminUpdateRepository
from salesbot.adapters.persistence.repositories.campaigns import (
    SqlCampaignRepository,
    SqlLeadRepository,
)
from salesbot.adapters.persistence.repositories.dialogs import SqlDialogRepository
from salesbot.adapters.persistence.repositories.messages import SqlMessageRepository
from salesbot.adapters.persistence.repositories.small import (
    SqlDoNotContactRepository,
    SqlPeerRepository,
    SqlSettingRepository,
    SqlUpdateStateRepository,
)
from salesbot.adapters.persistence.repositories.webhook_events import SqlWebhookEventRepository

__all__ = [
    "SqlAccountRepository",
    "SqlAdminUpdateRepository",
    "SqlCampaignRepository",
    "SqlDialogRepository",
    "SqlDoNotContactRepository",
    "SqlLeadRepository",
    "SqlMessageRepository",
    "SqlPeerRepository",
    "SqlSettingRepository",
    "SqlUpdateStateRepository",
    "SqlWebhookEventRepository",
]
