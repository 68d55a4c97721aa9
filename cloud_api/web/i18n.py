"""Message catalogue (zh-CN default, English switch): every string the pages show comes from ``messages.yaml``.

Templates call ``t("key", **values)``; a missing key is an error in tests (the catalogue test checks both
languages have every key), and shows the key itself in production rather than crashing a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"
LANG_COOKIE = "mingchu_lang"
CATALOGUE_PATH = Path(__file__).resolve().parent / "messages.yaml"


class CatalogueError(ValueError):
    """The catalogue file is malformed (a key without both languages, a non-string value)."""


def parse_catalogue(text: str, source: str = "<catalogue>") -> dict[Lang, dict[str, str]]:
    """``key: {zh: …, en: …}`` → ``{"zh": {key: …}, "en": {key: …}}``; both languages are required."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise CatalogueError(f"{source}: expected a mapping of message keys")
    out: dict[Lang, dict[str, str]] = {lang: {} for lang in LANGS}
    for key, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) != set(LANGS):
            raise CatalogueError(f"{source}: {key}: needs exactly the languages {list(LANGS)}")
        for lang in LANGS:
            value = entry[lang]
            if not isinstance(value, str):
                raise CatalogueError(f"{source}: {key}.{lang}: must be a string")
            out[lang][str(key)] = value
    return out


@cache
def default_catalogue() -> dict[Lang, dict[str, str]]:
    """The shipped catalogue, read once (callers must not mutate it)."""
    return parse_catalogue(CATALOGUE_PATH.read_text(encoding="utf-8"), str(CATALOGUE_PATH))


def pick_lang(query: str | None, cookie: str | None) -> Lang:
    """``?lang=`` wins, then the cookie, then zh (the audience is Chinese; English only when asked)."""
    for candidate in (query, cookie):
        for lang in LANGS:
            if candidate == lang:
                return lang
    return DEFAULT_LANG


@dataclass(frozen=True)
class Translator:
    """Looks keys up in one language; ``{name}`` placeholders are filled with ``str.format``."""

    lang: Lang
    messages: dict[str, str]

    def __call__(self, key: str, /, **values: object) -> str:
        text = self.messages.get(key)
        if text is None:
            return key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.messages


def translator(lang: Lang) -> Translator:
    return Translator(lang, default_catalogue()[lang])
