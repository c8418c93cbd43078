# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
Strict dict <-> dataclass conversion of the training configuration, ``a.b=value`` overrides and
YAML: ``load_config(path, overrides)`` reads a YAML file, applies the overrides (values parsed
with ``ast.literal_eval``, falling back to the raw string) and builds ``TrainConfig``. An unknown
key, a wrong type or a bad choice raises ``ValueError`` naming the full key path.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
import dataclasses
import types
import typing
from typing import Any, TypeVar

import yaml

from training.config import TrainConfig

T = TypeVar('T')

# --------------------------------------------------------------------------------------------
# Strict dict <-> dataclass conversion


def _type_name(tp: Any) -> str:
    return getattr(tp, '__name__', None) or str(tp).replace('typing.', '')


def _coerce(value: Any, tp: Any, path: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert lists/ints where lossless."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, path)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(f'{path}: {value!r} matches none of {_type_name(tp)}')
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f'{path}: {value!r} is not one of {args}')
        return value
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ('true', 'false'):
            return value.lower() == 'true'  # --set a.b=true, as the YAML files spell it
        raise ValueError(f'{path}: expected a boolean (true/false), got {value!r}')
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f'{path}: expected an integer, got {value!r}')
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            # PyYAML (YAML 1.1) reads '6e-5' as a string; accept what float() reads exactly.
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError(f'{path}: expected a number, got {value!r}')
    if tp is str:
        if isinstance(value, str):
            return value
        raise ValueError(f'{path}: expected a string, got {value!r}')
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f'{path}: expected a list, got {value!r}')
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f'{path}[{i}]') for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f'{path}: expected {len(args)} items, got {len(value)}')
        return tuple(_coerce(v, a, f'{path}[{i}]') for i, (v, a) in enumerate(zip(value, args)))
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f'{path}: expected a mapping, got {value!r}')
        return dict(value)
    raise ValueError(f'{path}: unsupported field type {_type_name(tp)}')


def from_dict(cls: type[T], data: Any, path: str = '') -> T:
    """
    Build dataclass ``cls`` from a mapping, strictly.

    Unknown keys, wrong types and failed validation raise ``ValueError`` with the key path.
    Missing keys take the field defaults.
    """
    where = path or cls.__name__
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f'{where}: expected a mapping, got {type(data).__name__}')
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = [k for k in data if k not in names]
    if unknown:
        key = f'{path}.{unknown[0]}' if path else str(unknown[0])
        raise ValueError(f'unknown config key {key!r}; valid keys here: {names}')
    kwargs = {}
    for name in names:
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], f'{path}.{name}' if path else name)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f'{where}: {exc}') from exc
    except ValueError as exc:
        message = str(exc)
        if path and not message.startswith(path):
            message = f'{path}: {message}'
        raise ValueError(message) from exc


def to_dict(cfg: Any) -> Any:
    """Plain nested dict/list form of a config tree (tuples become lists), for YAML and JSON."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, Mapping):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'optim.lr=3e-4'`` -> (``['optim', 'lr']``, ``3e-4``); the value via ``literal_eval``."""
    if '=' not in text:
        raise ValueError(f'override {text!r} must look like key.path=value')
    key, raw = text.split('=', 1)
    key = key.strip()
    if not key or any(not part for part in key.split('.')):
        raise ValueError(f'override {text!r} has an empty key')
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = raw.strip()  # a bare string such as a path or a backbone name
    return key.split('.'), value


def apply_overrides(cls: type, data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """
    Return a copy of ``data`` with each ``a.b=value`` override set.

    Each key path must name a field of ``cls`` (checked here, so the error names the override).
    Types are checked when the config is built.
    """
    result = to_dict(data)
    for text in overrides:
        keys, value = parse_override(text)
        node_cls: Any = cls
        node = result
        for depth, key in enumerate(keys):
            path = '.'.join(keys[: depth + 1])
            if not dataclasses.is_dataclass(node_cls):
                raise ValueError(
                    f'override {text!r}: {".".join(keys[:depth])!r} is not a section'
                )
            names = [f.name for f in dataclasses.fields(node_cls) if f.init]
            if key not in names:
                raise ValueError(
                    f'override {text!r}: unknown config key {path!r}; valid keys here: {names}'
                )
            hint = typing.get_type_hints(node_cls)[key]
            if depth == len(keys) - 1:
                node[key] = value
            else:
                child = node.get(key)
                if child is None:
                    child = {}
                    node[key] = child
                if not isinstance(child, dict):
                    raise ValueError(f'override {text!r}: {path!r} is not a section')
                node, node_cls = child, hint
    return result


def load_config(path: str | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read YAML ``path`` (or start from defaults when None), apply overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, encoding='utf-8') as f:
                loaded = yaml.safe_load(f)
        except OSError as exc:
            raise ValueError(f'cannot read config {path}: {exc}') from exc
        except yaml.YAMLError as exc:
            raise ValueError(f'config {path} is not valid YAML: {exc}') from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f'config {path} must be a mapping at the top level')
        data = loaded
    data = apply_overrides(TrainConfig, data, overrides)
    try:
        return from_dict(TrainConfig, data)
    except ValueError as exc:
        where = f'{path}: ' if path else ''
        raise ValueError(f'{where}{exc}') from exc


def dump_config(cfg: Any) -> str:
    """YAML text of a config tree (sorted as declared, readable by ``load_config``)."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)
