"""The model endpoint asked once, for `salesbot check --online`: is the key accepted, do the
configured models exist, and how much credit is left where the provider says.

OpenRouter tells about the key at `GET /key` (`data.limit`, `data.usage`,
`data.limit_remaining`; a null limit is a key without one) and lists its models at
`GET /models` (`data[].id`; a routing variant such as `:nitro` or `:online` is not listed
on its own: its model is looked for). The account's balance (`GET /credits`) needs a
management key, so it is not asked. Other OpenAI-compatible servers answer 404 at `/key` (then no
credit is told) and list their models at the same `/models`; one that lists none is not
held against the configuration. A 401 or 403 at either is a refused key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from salesbot.application.errors import ProbeFailed


async def probe_model(
    http: httpx.AsyncClient,
    base_url: str,
    api_key: str,
    models: Sequence[str],
) -> str:
    """What was found, in a few words; ProbeFailed saying what to fix."""
    headers = {"Authorization": f"Bearer {api_key}"}
    found: list[str] = []
    key = await _get(http, f"{base_url}/key", headers)
    _refused(key)
    if key.status_code not in (404, 405):
        found.append(_credit(_data(key, "key")))
    listed = await _get(http, f"{base_url}/models", headers)
    _refused(listed)
    if listed.status_code == 404:
        found.insert(0, "the key is accepted; the endpoint lists no models (not checked)")
        return ", ".join(found)
    data = _data(listed, "models")
    items = data if isinstance(data, list) else []
    ids = {item.get("id") for item in items if isinstance(item, dict)}
    missing = [m for m in models if m not in ids and m.split(":", 1)[0] not in ids]
    if missing:
        raise ProbeFailed(
            f"OPENROUTER_MODEL: {', '.join(missing)} not among the endpoint's "
            f"{len(ids)} models"
        )
    verb = "exists" if len(models) == 1 else "exist"
    found.insert(0, f"the key is accepted, {', '.join(models)} {verb}")
    return ", ".join(found)


def _refused(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        raise ProbeFailed(
            f"OPENROUTER_API_KEY: the endpoint refuses the key (HTTP {response.status_code}): "
            "check it, or make a new one"
        )


async def _get(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    try:
        return await http.get(url, headers=headers)
    except httpx.TimeoutException:
        raise ProbeFailed(f"the model endpoint did not answer {url} in time") from None
    except httpx.HTTPError as error:
        name = type(error).__name__
        raise ProbeFailed(f"cannot reach the model endpoint at {url} ({name})") from None


def _data(response: httpx.Response, what: str) -> Any:
    if response.status_code != 200:
        raise ProbeFailed(f"the model endpoint answered {what} with HTTP {response.status_code}")
    try:
        body = response.json()
        return body["data"]
    except (ValueError, KeyError, TypeError):
        raise ProbeFailed(
            f"the model endpoint's answer about its {what} is not the expected JSON"
        ) from None


def _money(value: Any) -> str:
    return f"${float(value):.2f}"


def _credit(key: Any) -> str:
    if not isinstance(key, dict):
        return "credit not told"
    limit, usage, remaining = key.get("limit"), key.get("usage"), key.get("limit_remaining")
    if limit is None:
        used = f", {_money(usage)} used" if isinstance(usage, (int, float)) else ""
        return f"no credit limit on the key{used}"
    if isinstance(remaining, (int, float)) and remaining <= 0:
        raise ProbeFailed(
            f"OPENROUTER_API_KEY: no credit left on the key ({_money(usage or 0)} of "
            f"{_money(limit)} used): raise its limit at https://openrouter.ai/settings/keys"
        )
    if isinstance(remaining, (int, float)):
        return f"{_money(remaining)} of {_money(limit)} credit left"
    return f"a limit of {_money(limit)}"
