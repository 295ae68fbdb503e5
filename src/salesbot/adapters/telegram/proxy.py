"""Per-account proxies, written as URLs by the operator and given to Pyrogram as its dict."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

SCHEMES = ("socks5", "socks4", "http")


def proxy_dict(url: str) -> dict[str, Any]:
    """`socks5://user:pass@host:port` -> Pyrogram's `{"scheme", "hostname", "port", ...}`.

    ValueError names what is wrong (never echoing the password).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"a proxy must start with {', '.join(s + '://' for s in SCHEMES)}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ValueError("a proxy needs a host and a port: socks5://user:pass@host:port")
    result: dict[str, Any] = {"scheme": scheme, "hostname": parts.hostname, "port": port}
    if parts.username:
        result["username"] = unquote(parts.username)
    if parts.password:
        result["password"] = unquote(parts.password)
    return result
