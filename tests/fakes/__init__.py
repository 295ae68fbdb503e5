"""Stand-ins for everything outside salesbot, for tests and benchmarks only (never shipped):

- in-memory fakes of the ports (`FakeUnitOfWork`, `FakeTelegram`, `FakeLanguageModel`,
  `FakeNotifier`, `FakeClock`, `FakeCipher`), checked against their Protocols by the
  contract suites;
- fake outside servers on real sockets on 127.0.0.1 (the Bot API, an OpenAI-compatible
  endpoint, the Telegram stand-in) for the adapters' tests.
"""

from tests.fakes.cipher import FakeCipher
from tests.fakes.clock import FakeClock
from tests.fakes.language_model import FakeLanguageModel
from tests.fakes.notifier import FakeNotifier
from tests.fakes.telegram import FakeTelegram
from tests.fakes.unit_of_work import FakeUnitOfWork, InMemoryStore

__all__ = [
    "FakeCipher",
    "FakeClock",
    "FakeLanguageModel",
    "FakeNotifier",
    "FakeTelegram",
    "FakeUnitOfWork",
    "InMemoryStore",
]
