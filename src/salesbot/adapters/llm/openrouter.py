"""OpenRouter (or any OpenAI-compatible server) as the LanguageModel port.

One shared `httpx.AsyncClient` POSTs `{base_url}/chat/completions`. Failures that may pass
(timeouts, lost connections, 408/409/425/429/5xx, a body that is not the expected JSON) are
retried a bounded number of times with exponential backoff and jitter, honouring
`Retry-After`; the waits go through the Clock port so tests never wait. 400/401/402/403 are
never retried: they become `LlmRejected` with a text an operator can act on.

OpenRouter's own request fields (`models` fallback list, `usage: {include: true}` for the
cost, `response_format`) are sent by default. A strictly OpenAI-compatible server that
answers 400 to them gets one plain retry; when that works, plain requests are used from
then on, so any OpenAI-compatible `OPENROUTER_BASE_URL` works.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from salesbot.application.errors import LlmRejected, LlmUnavailable
from salesbot.application.ports import ChatTurn, Clock, Completion
from salesbot.domain.text import storable

logger = logging.getLogger(__name__)

DEFAULT_APP_URL = "https://github.com/salesbot/salesbot"
DEFAULT_APP_TITLE = "salesbot"
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_DETAIL_LIMIT = 300


class _Transient(Exception):
    """One attempt failed in a way the next attempt may not; `retry_after` is the server's hint."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenRouterModel:
    def __init__(
        self,
        api_key: str,
        model: str,
        *,
        clock: Clock,
        base_url: str = "https://openrouter.ai/api/v1",
        fallback_models: Sequence[str] = (),
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_attempts: int = 3,
        backoff_initial: float = 1.0,
        backoff_max: float = 20.0,
        max_retry_after: float = 60.0,
        app_url: str = DEFAULT_APP_URL,
        app_title: str = DEFAULT_APP_TITLE,
        temperature: float | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("OpenRouterModel needs an API key")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self._model = model
        self._fallbacks = [m for m in fallback_models if m and m != model]
        self._clock = clock
        self._url = base_url.rstrip("/") + "/chat/completions"
        host = urlsplit(base_url).hostname or base_url
        self._name = "OpenRouter" if host.endswith("openrouter.ai") else host
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_retry_after = max_retry_after
        self._backoff = wait_exponential_jitter(
            initial=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        self._temperature = temperature
        self._plain = False
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "HTTP-Referer": app_url,
            "X-Title": app_title,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    @property
    def model(self) -> str:
        return self._model

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> OpenRouterModel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the port ----------------------------------------------------------------------

    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None, json_mode: bool = False
    ) -> Completion:
        plain = self._plain
        try:
            return await self._with_retries(self._body(turns, max_tokens, json_mode, plain=plain))
        except LlmRejected as rejected:
            if rejected.kind != LlmRejected.BAD_REQUEST or plain:
                raise
            # A strict OpenAI-compatible server may refuse OpenRouter's extra fields.
            completion = await self._with_retries(
                self._body(turns, max_tokens, json_mode, plain=True)
            )
            self._plain = True
            logger.warning(
                "%s refused OpenRouter's extra request fields (%s); sending plain "
                "OpenAI-style requests from now on (no fallback models, no cost report)",
                self._name,
                rejected.detail,
            )
            return completion

    # --- one request -------------------------------------------------------------------

    def _body(
        self, turns: Sequence[ChatTurn], max_tokens: int | None, json_mode: bool, *, plain: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": t.role, "content": t.content} for t in turns],
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if self._temperature is not None:
            body["temperature"] = self._temperature
        if plain:
            return body
        if self._fallbacks:
            body["models"] = [self._model, *self._fallbacks]
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        body["usage"] = {"include": True}
        return body

    async def _with_retries(self, body: dict[str, Any]) -> Completion:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._clock.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._post(body)
        except _Transient as error:
            tries = "1 attempt" if self._max_attempts == 1 else f"{self._max_attempts} attempts"
            raise LlmUnavailable(f"{error} ({tries})", retry_after=error.retry_after) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s attempt %d/%d failed: %s; retrying in %.1f s",
            self._name,
            state.attempt_number,
            self._max_attempts,
            error,
            wait,
        )

    async def _post(self, body: dict[str, Any]) -> Completion:
        started = time.monotonic()
        try:
            response = await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.TimeoutException:
            raise _Transient(f"{self._name} did not answer within {self._timeout:g} s") from None
        except httpx.HTTPError as error:
            raise _Transient(
                f"cannot reach {self._name}: {type(error).__name__} {error}".rstrip()
            ) from None
        elapsed = time.monotonic() - started
        if response.status_code >= 400:
            self._raise_for_status(response)
        return self._parse(response, elapsed)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        detail = _error_detail(response)
        if status == 401:
            raise LlmRejected(
                LlmRejected.KEY,
                f"{self._name} rejected the API key (HTTP 401): check OPENROUTER_API_KEY"
                + _suffix(detail),
            )
        if status == 402:
            raise LlmRejected(
                LlmRejected.CREDITS,
                f"{self._name} says the account is out of credits (HTTP 402): top up at "
                "https://openrouter.ai/settings/credits" + _suffix(detail),
            )
        if status == 403:
            raise LlmRejected(
                LlmRejected.FORBIDDEN,
                f"{self._name} refused the request (HTTP 403: moderation or key limits)"
                + _suffix(detail),
            )
        if status in _RETRYABLE_STATUS:
            retry_after = self._retry_after(response)
            message = f"{self._name} answered HTTP {status}" + _suffix(detail)
            if retry_after is not None and retry_after > self._max_retry_after:
                # Too long to hold the caller here: tell it when to come back instead.
                raise LlmUnavailable(
                    f"{message}; it asks to wait {retry_after:.0f} s", retry_after=retry_after
                )
            raise _Transient(message, retry_after=retry_after)
        if 400 <= status < 500:
            raise LlmRejected(
                LlmRejected.BAD_REQUEST,
                f"{self._name} rejected the request (HTTP {status}): check OPENROUTER_MODEL"
                + _suffix(detail),
            )
        raise _Transient(f"{self._name} answered HTTP {status}" + _suffix(detail))

    def _retry_after(self, response: httpx.Response) -> float | None:
        raw = response.headers.get("Retry-After")
        if raw is None:
            return None
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if moment is None or moment.tzinfo is None:
            return None
        return max(0.0, (moment - self._clock.now()).total_seconds())

    def _parse(self, response: httpx.Response, elapsed: float) -> Completion:
        try:
            data = json.loads(response.content)
        except ValueError:
            raise _Transient(
                f"{self._name} sent a body that is not JSON (HTTP {response.status_code}, "
                f"{len(response.content)} bytes)"
            ) from None
        if not isinstance(data, dict):
            raise _Transient(f"{self._name} sent JSON that is not an object")
        if "error" in data and not data.get("choices"):
            self._raise_body_error(data["error"])
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise _Transient(f"{self._name} sent an answer without choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise _Transient(f"{self._name} sent a choice without a message")
        text = storable(_content_text(message.get("content")))  # the model may write a NUL
        if not text and isinstance(choice.get("error"), dict):
            raise _Transient(
                f"{self._name}'s model failed mid-answer" + _suffix(_message_of(choice["error"]))
            )
        usage = data.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        completion = Completion(
            text=text,
            model=str(data.get("model") or self._model),
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            cost_usd=_float(usage.get("cost")),
            cached_tokens=_cached_tokens(usage),
        )
        logger.info(
            "%s %s answered in %.1f s: %d prompt (%d cached) + %d completion tokens, $%.6f",
            self._name,
            completion.model,
            elapsed,
            completion.prompt_tokens,
            completion.cached_tokens,
            completion.completion_tokens,
            completion.cost_usd,
        )
        return completion

    def _raise_body_error(self, error: object) -> None:
        """OpenRouter reports some failures as HTTP 200 with an `error` object."""
        detail = _message_of(error)
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) else 0
        if status == 401:
            raise LlmRejected(
                LlmRejected.KEY, f"{self._name} rejected the API key" + _suffix(detail)
            )
        if status == 402:
            raise LlmRejected(
                LlmRejected.CREDITS,
                f"{self._name} says the account is out of credits" + _suffix(detail),
            )
        if status == 403:
            raise LlmRejected(
                LlmRejected.FORBIDDEN, f"{self._name} refused the request" + _suffix(detail)
            )
        raise _Transient(f"{self._name} reported an error" + _suffix(detail))


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _message_of(error: object) -> str:
    if isinstance(error, dict):
        text = error.get("message") or error.get("error") or ""
        return str(text)[:_DETAIL_LIMIT]
    return str(error or "")[:_DETAIL_LIMIT]


def _error_detail(response: httpx.Response) -> str:
    try:
        data = json.loads(response.content)
    except ValueError:
        return response.text.strip()[:_DETAIL_LIMIT] if response.content else ""
    if isinstance(data, dict) and "error" in data:
        return _message_of(data["error"])
    return ""


def _suffix(detail: str) -> str:
    detail = " ".join(detail.split())
    return f" — {detail}" if detail else ""


def _cached_tokens(usage: dict[str, Any]) -> int:
    """`usage.prompt_tokens_details.cached_tokens` (OpenAI's and OpenRouter's shape): the
    prompt tokens read from the provider's prompt cache; 0 when absent or malformed."""
    details = usage.get("prompt_tokens_details")
    if not isinstance(details, dict):
        return 0
    return max(0, _int(details.get("cached_tokens")))


def _int(value: object) -> int:
    if not isinstance(value, (int, float, str)):
        return 0
    try:
        return int(value)
    except ValueError:
        return 0


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
