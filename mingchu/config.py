"""YAML config files validated by pydantic, with environment overrides and errors that name the key.

Both the edge agent and the hub load their config through :func:`load_config`, so a typo in
either file fails the same way: one line naming the file and the dotted key path.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(Exception):
    """A config that cannot be used; ``str()`` is the one line a user needs."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """``PREFIX__MQTT__HOST=broker`` sets ``mqtt.host``; values are parsed as YAML scalars."""
    result = dict(data)
    marker = prefix + "__"
    for name, raw in sorted(environ.items()):
        if not name.startswith(marker):
            continue
        path = [p.lower() for p in name[len(marker) :].split("__") if p]
        if not path:
            continue
        node = result
        for key in path[:-1]:
            child = node.get(key)
            child = dict(child) if isinstance(child, dict) else {}
            node[key] = child
            node = child
        node[path[-1]] = yaml.safe_load(raw) if raw != "" else ""
    return result


def load_config(
    model: type[ModelT],
    path: str | Path | None,
    *,
    env_prefix: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ModelT:
    """Read ``path`` (or nothing: all defaults), apply overrides, validate; raise :class:`ConfigError`."""
    source = str(path) if path is not None else "<defaults>"
    data: Any = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(source, "", "file not found")
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(source, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(source, "", "not UTF-8 text") from exc
        if not isinstance(data, dict):
            raise ConfigError(source, "", f"top level must be a mapping, got {type(data).__name__}")
    if env_prefix:
        data = apply_env_overrides(data, os.environ if environ is None else environ, env_prefix)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _dotted(tuple(first["loc"]))
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        elif "input" in first and first["type"] not in ("missing",):
            message = f"{message} (got {first['input']!r})"
        raise ConfigError(source, key, message) from exc


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if origin in (list, tuple, set, frozenset):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map {_type_name(key)} → {_type_name(value)}"
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_submodels(arg))
    return found


def config_reference(model: type[BaseModel], title: str) -> str:
    """Markdown reference of every key, generated from the models so it cannot drift."""
    lines = [f"# {title}", "", "Generated by `python -m mingchu.docs`; do not edit by hand.", ""]
    seen: set[type[BaseModel]] = set()

    def walk(section: type[BaseModel], prefix: str) -> None:
        if section in seen and not prefix:
            return
        seen.add(section)
        doc = (section.__doc__ or "").strip().splitlines()
        lines.extend([f"## `{prefix or '(top level)'}` — {section.__name__}", ""])
        if doc:
            lines.extend([doc[0], ""])
        lines.extend(["| key | type | default | description |", "|---|---|---|---|"])
        nested: list[tuple[str, type[BaseModel]]] = []
        for name, field in section.model_fields.items():
            default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
            if len(default) > 40:
                default = default[:37] + "…"
            desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | `{default}` | {desc} |")
            for sub in _submodels(field.annotation):
                nested.append((f"{prefix}.{name}" if prefix else name, sub))
        lines.append("")
        for key, sub in nested:
            walk(sub, key)

    walk(model, "")
    return "\n".join(lines)
