from dependency_injector import providers

from salesbot.adapters.system_clock import SystemClock
from salesbot.entrypoints.container import Container
from tests.fakes import FakeClock


def test_a_provider_is_overridden_by_a_fake():
    container = Container()
    assert isinstance(container.clock(), SystemClock)
    fake = FakeClock()
    with container.clock.override(providers.Object(fake)):
        assert container.clock() is fake
    assert isinstance(container.clock(), SystemClock)
