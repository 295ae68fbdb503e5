"""OpenRouterModel over real sockets against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest

from salesbot.adapters.llm import OpenRouterModel
from salesbot.application.errors import LlmRejected, LlmUnavailable
from salesbot.application.ports import ChatTurn
from tests.fakes import FakeClock
from tests.fakes.openai_server import FakeOpenAIServer, Scripted, completion, error

KEY = "sk-or-v1-" + "a" * 40
TURNS = [ChatTurn("system", "You sell things."), ChatTurn("user", "Привет")]


@pytest.fixture
async def server():
    async with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
async def model(server, clock):
    llm = OpenRouterModel(
        KEY,
        "openai/gpt-4o-mini",
        clock=clock,
        base_url=server.base_url,
        fallback_models=["anthropic/claude-3.5-haiku", "openai/gpt-4o-mini"],
        timeout=5,
    )
    yield llm
    await llm.aclose()


async def test_the_request_is_what_openrouter_documents(server, model):
    server.queue(completion("Здравствуйте!", model="openai/gpt-4o-mini", cost=0.00042))

    result = await model.complete(TURNS, max_tokens=300, json_mode=True)

    assert result.text == "Здравствуйте!"
    assert (result.prompt_tokens, result.completion_tokens) == (120, 30)
    assert result.cost_usd == pytest.approx(0.00042)
    assert result.model == "openai/gpt-4o-mini"
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/api/v1/chat/completions")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["HTTP-Referer"].startswith("https://")
    assert request.headers["X-Title"] == "salesbot"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == {
        "model": "openai/gpt-4o-mini",
        "models": ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"],
        "messages": [
            {"role": "system", "content": "You sell things."},
            {"role": "user", "content": "Привет"},
        ],
        "max_tokens": 300,
        "response_format": {"type": "json_object"},
        "usage": {"include": True},
    }


async def test_usage_and_cost_are_logged_per_call(server, model, caplog):
    server.queue(completion("ok", prompt_tokens=11, completion_tokens=7, cost=0.0021))
    with caplog.at_level(logging.INFO, logger="salesbot.adapters.llm.openrouter"):
        await model.complete(TURNS)
    assert "11 prompt (0 cached) + 7 completion tokens, $0.002100" in caplog.text
    assert KEY not in caplog.text


# A non-streaming answer as OpenRouter documents its usage accounting (docs: "Usage
# Accounting", "Prompt Caching"): cached_tokens are the prompt tokens read from the cache.
OPENROUTER_ANSWER = {
    "id": "gen-1764650000-abcdef",
    "provider": "OpenAI",
    "model": "openai/gpt-4o-mini",
    "object": "chat.completion",
    "created": 1764650000,
    "choices": [
        {
            "logprobs": None,
            "finish_reason": "stop",
            "native_finish_reason": "stop",
            "index": 0,
            "message": {"role": "assistant", "content": "Добрый день!", "refusal": None},
        }
    ],
    "usage": {
        "prompt_tokens": 2310,
        "completion_tokens": 48,
        "total_tokens": 2358,
        "cost": 0.00021945,
        "is_byok": False,
        "prompt_tokens_details": {
            "cached_tokens": 1920,
            "cache_write_tokens": 0,
            "audio_tokens": 0,
        },
        "cost_details": {"upstream_inference_cost": None},
        "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
    },
}


async def test_cached_tokens_and_cost_are_read_from_openrouters_usage(server, model, caplog):
    server.queue(Scripted(body=OPENROUTER_ANSWER))
    with caplog.at_level(logging.INFO, logger="salesbot.adapters.llm.openrouter"):
        result = await model.complete(TURNS)
    assert result.text == "Добрый день!"
    assert (result.prompt_tokens, result.cached_tokens, result.completion_tokens) == (
        2310,
        1920,
        48,
    )
    assert result.cost_usd == pytest.approx(0.00021945)
    assert "2310 prompt (1920 cached) + 48 completion tokens" in caplog.text


@pytest.mark.parametrize(
    "details", [None, {}, {"cached_tokens": None}, {"cached_tokens": "x"}, [], "1920"]
)
async def test_a_missing_or_odd_cache_report_counts_no_cached_tokens(server, model, details):
    body = {**OPENROUTER_ANSWER, "usage": {**OPENROUTER_ANSWER["usage"]}}
    if details is None:
        del body["usage"]["prompt_tokens_details"]
    else:
        body["usage"]["prompt_tokens_details"] = details
    server.queue(Scripted(body=body))
    result = await model.complete(TURNS)
    assert (result.prompt_tokens, result.cached_tokens) == (2310, 0)


async def test_429_with_retry_after_is_waited_out_then_succeeds(server, model, clock):
    server.queue(error(429, "Rate limit exceeded", Retry_After="7"), completion("Готово"))

    result = await model.complete(TURNS)

    assert result.text == "Готово"
    assert len(server.requests) == 2
    assert clock.slept == [7.0]


async def test_500_three_times_is_a_clear_unavailable_error(server, model, clock):
    server.queue(*[error(500, "Internal Server Error")] * 3, completion("never"))

    with pytest.raises(LlmUnavailable) as caught:
        await model.complete(TURNS)

    assert "HTTP 500" in str(caught.value)
    assert "3 attempts" in str(caught.value)
    assert len(server.requests) == 3
    assert len(clock.slept) == 2
    assert 0 < clock.slept[0] < clock.slept[1] + 1  # exponential backoff with jitter


async def test_a_connection_refused_is_retried_and_then_unavailable(clock):
    async with FakeOpenAIServer() as gone:
        base_url = gone.base_url
    llm = OpenRouterModel(KEY, "m", clock=clock, base_url=base_url, timeout=2)
    try:
        with pytest.raises(LlmUnavailable, match="cannot reach"):
            await llm.complete(TURNS)
    finally:
        await llm.aclose()
    assert len(clock.slept) == 2


async def test_401_is_the_key_error_and_is_not_retried(server, model, clock):
    server.queue(error(401, "No auth credentials found"))

    with pytest.raises(LlmRejected) as caught:
        await model.complete(TURNS)

    assert caught.value.kind == LlmRejected.KEY
    assert "rejected the API key" in str(caught.value)
    assert "OPENROUTER_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value)
    assert len(server.requests) == 1
    assert clock.slept == []


async def test_402_is_out_of_credits(server, model):
    server.queue(error(402, "Insufficient credits"))

    with pytest.raises(LlmRejected) as caught:
        await model.complete(TURNS)

    assert caught.value.kind == LlmRejected.CREDITS
    assert "out of credits" in str(caught.value)
    assert len(server.requests) == 1


async def test_403_is_forbidden_with_the_providers_reason(server, model):
    server.queue(error(403, "Input was flagged by moderation"))

    with pytest.raises(LlmRejected) as caught:
        await model.complete(TURNS)

    assert caught.value.kind == LlmRejected.FORBIDDEN
    assert "flagged by moderation" in str(caught.value)


async def test_400_is_retried_once_plainly_then_rejected(server, model):
    server.queue(error(400, "bad model"), error(400, "bad model"))

    with pytest.raises(LlmRejected) as caught:
        await model.complete(TURNS, json_mode=True)

    assert caught.value.kind == LlmRejected.BAD_REQUEST
    assert "OPENROUTER_MODEL" in str(caught.value)
    assert "bad model" in str(caught.value)
    assert len(server.requests) == 2


async def test_a_strict_openai_server_gets_plain_requests_after_refusing_the_extras(server, model):
    server.queue(error(400, "Unrecognized request argument supplied: usage"), completion("a"))
    server.queue(completion("b"))

    assert (await model.complete(TURNS, json_mode=True)).text == "a"
    assert (await model.complete(TURNS, json_mode=True)).text == "b"

    first, plain, later = (r.body for r in server.requests)
    assert "usage" in first and "models" in first
    for body in (plain, later):
        assert set(body) == {"model", "messages"}


async def test_a_slow_server_is_a_timeout_error(server, clock):
    llm = OpenRouterModel(KEY, "m", clock=clock, base_url=server.base_url, timeout=0.2)
    server.queue(*[Scripted(delay=1.0, body={"choices": []})] * 3)
    try:
        with pytest.raises(LlmUnavailable, match=r"did not answer within 0\.2 s"):
            await llm.complete(TURNS)
    finally:
        await llm.aclose()
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("scripted", "expected"),
    [
        (Scripted(body=b"<html>502 Bad Gateway</html>"), "not JSON"),
        (Scripted(body=b'{"choices": [{"message": {"content": "cut'), "not JSON"),
        (Scripted(body={"id": "x", "choices": []}), "without choices"),
        (Scripted(body={"choices": [{"finish_reason": "stop"}]}), "without a message"),
        (Scripted(body=["not", "an", "object"]), "not an object"),
        (
            Scripted(body={"error": {"code": 502, "message": "Provider returned error"}}),
            "Provider returned error",
        ),
    ],
)
async def test_a_malformed_answer_is_a_clear_error_never_a_crash(server, model, scripted, expected):
    server.default = scripted

    with pytest.raises(LlmUnavailable) as caught:
        await model.complete(TURNS)

    assert expected in str(caught.value)


async def test_a_malformed_answer_once_is_retried(server, model):
    server.queue(Scripted(body=b"garbage"), completion("fine"))
    assert (await model.complete(TURNS)).text == "fine"


async def test_a_retry_after_longer_than_the_cap_is_handed_to_the_caller(server, clock):
    llm = OpenRouterModel(KEY, "m", clock=clock, base_url=server.base_url, max_retry_after=30)
    server.queue(error(429, "slow down", Retry_After="600"))
    try:
        with pytest.raises(LlmUnavailable) as caught:
            await llm.complete(TURNS)
    finally:
        await llm.aclose()
    assert caught.value.retry_after == 600
    assert clock.slept == []
    assert len(server.requests) == 1


async def test_a_missing_cost_and_null_content_are_tolerated(server, model):
    body = completion("x", cost=None).body
    body["choices"][0]["message"]["content"] = None
    server.queue(Scripted(body=body))

    result = await model.complete(TURNS)

    assert result.text == ""
    assert result.cost_usd == 0.0


async def test_one_shared_client_keeps_its_connection_across_calls(server, model):
    server.default = completion("ok")
    for _ in range(5):
        await model.complete(TURNS)
    assert len(server.requests) == 5
    assert len({r.client_port for r in server.requests}) == 1


async def test_a_nul_the_model_writes_never_reaches_the_database(server, model):
    server.queue(completion('{"reply": "Добрый\\u0000 день"}\u0000'))

    result = await model.complete(TURNS, max_tokens=300, json_mode=True)

    assert "\x00" not in result.text
    assert result.text == '{"reply": "Добрый\\u0000 день"}'
