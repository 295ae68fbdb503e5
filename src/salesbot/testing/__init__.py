"""In-memory fakes of every port, for unit tests, contract tests and benchmarks.

They need no base class: each is checked against its Protocol by the contract suites.
"""

from salesbot.testing.cipher import FakeCipher
from salesbot.testing.clock import FakeClock
from salesbot.testing.language_model import FakeLanguageModel
from salesbot.testing.notifier import FakeNotifier
from salesbot.testing.telegram import FakeTelegram
from salesbot.testing.unit_of_work import FakeUnitOfWork, InMemoryStore

__all__ = [
    "FakeCipher",
    "FakeClock",
    "FakeLanguageModel",
    "FakeNotifier",
    "FakeTelegram",
    "FakeUnitOfWork",
    "InMemoryStore",
]
