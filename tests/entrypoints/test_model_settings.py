"""LLM_TIMEOUT_SECONDS and LLM_ATTEMPTS reach the model adapter the container builds."""

from __future__ import annotations

import time

import pytest

from salesbot.application.errors import LlmUnavailable
from salesbot.application.ports import ChatTurn
from salesbot.entrypoints.container import resolve, shut_down
from tests.fakes import FakeClock
from tests.fakes.openai_server import FakeOpenAIServer, Scripted, completion
from tests.wiring import container_for, settings_for_tests

TURNS = [ChatTurn("system", "You sell things."), ChatTurn("user", "Привет")]


@pytest.fixture
async def server():
    async with FakeOpenAIServer() as fake:
        yield fake


async def test_a_hanging_model_times_out_after_the_setting_and_is_tried_the_set_times(server):
    settings = settings_for_tests(
        OPENROUTER_BASE_URL=server.base_url, LLM_TIMEOUT_SECONDS=0.05, LLM_ATTEMPTS=2
    )
    clock = FakeClock()  # the backoff between attempts is waited on the fake clock
    container = container_for(settings, clock=clock)
    server.queue(Scripted(body={}, delay=5), Scripted(body={}, delay=5))
    try:
        model = await resolve(container.llm())
        started = time.monotonic()
        with pytest.raises(LlmUnavailable) as caught:
            await model.complete(TURNS)
        waited = time.monotonic() - started
    finally:
        await shut_down(container)
    assert "did not answer within 0.05 s (2 attempts)" in str(caught.value)
    assert len(server.requests) == 2
    assert len(clock.slept) == 1
    assert waited < 2  # two 0.05 s timeouts, far from the server's 5 s


async def test_one_attempt_means_no_retry(server):
    settings = settings_for_tests(
        OPENROUTER_BASE_URL=server.base_url, LLM_TIMEOUT_SECONDS=0.05, LLM_ATTEMPTS=1
    )
    container = container_for(settings, clock=FakeClock())
    server.queue(Scripted(body={}, delay=5), completion("never asked for"))
    try:
        model = await resolve(container.llm())
        with pytest.raises(LlmUnavailable, match=r"\(1 attempt\)"):
            await model.complete(TURNS)
    finally:
        await shut_down(container)
    assert len(server.requests) == 1


def test_the_defaults_are_a_minute_and_three_attempts():
    settings = settings_for_tests()
    assert (settings.LLM_TIMEOUT_SECONDS, settings.LLM_ATTEMPTS) == (60, 3)
