"""Keep camera passwords out of logs, exceptions and metrics labels.

Camera URLs carry credentials (``rtsp://admin:pw@10.0.0.5/...``) and FFmpeg echoes the URL in
its error messages, so every string that leaves a source passes through :func:`mask_text`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@/\s]*)@")


def mask_url(url: str) -> str:
    """``rtsp://user:pw@host/x`` -> ``rtsp://user:***@host/x``; URLs without a password unchanged."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)


def url_secrets(url: str) -> tuple[str, ...]:
    """The password of ``url`` in every spelling FFmpeg might print (raw, decoded, re-quoted)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if not password:
        return ()
    forms = {password, unquote(password), quote(unquote(password), safe="")}
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def mask_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask URL userinfo, then any leftover occurrence of a known password."""
    text = mask_url(text)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
