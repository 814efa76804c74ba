"""Reading TOML configuration files with errors that name the file and the field.

Every configuration file Corral reads (clusters, queues) fails the same way on the same
mistakes: ``<file>: <field>: <problem>``, so a typo never falls back to a default silently.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any

from corral.model import ConfigError

MIB_PER_GIB = 1024


def open_toml(path: str | os.PathLike[str], what: str,
              top_keys: tuple[str, ...]) -> tuple[dict[str, Any], TomlFields]:
    """The parsed file (only *top_keys* allowed at its top level) and field look-ups that
    name it in errors."""
    data = read_toml(path, what)
    fields = TomlFields(os.fspath(path))
    fields.check_keys(data, top_keys, "")
    return data, fields


def read_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """The parsed TOML file at *path*; *what* names it in errors ("cluster file")."""
    where = os.fspath(path)
    try:
        return tomllib.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the {what} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: TOML syntax error: {exc}") from None


class TomlFields:
    """Typed look-ups in TOML tables, each failing with ``<file>: <field>: <problem>``."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {field}: {problem}")

    def check_keys(self, table: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                expected = ", ".join(allowed)
                raise self.fail(f"{prefix}{key}", f"unknown key; expected one of {expected}")

    def integer(
        self,
        table: dict[str, Any],
        key: str,
        field: str,
        *,
        minimum: int,
        default: int | None = None,
    ) -> int:
        if key not in table:
            if default is None:
                raise self.fail(field, "missing")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"must be a whole number, got {value!r}")
        if value < minimum:
            raise self.fail(field, f"must be >= {minimum}, got {value}")
        return value

    def number(
        self, table: dict[str, Any], key: str, field: str, *, required: bool
    ) -> float | None:
        if key not in table:
            if required:
                raise self.fail(field, "missing (required for nodes without GPUs)")
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise self.fail(field, f"must be a finite number >= 0, got {value}")
        return float(value)

    def string(
        self,
        table: dict[str, Any],
        key: str,
        field: str,
        *,
        default: str,
        empty_ok: bool = False,
    ) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, got {value!r}")
        if not value and not empty_ok:
            raise self.fail(field, "must not be empty")
        return value

    def labels(self, table: dict[str, Any], key: str, field: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(field, f"must be a table of strings, got {value!r}")
        for name, label in value.items():
            if not isinstance(label, str):
                raise self.fail(f"{field}.{name}", f"must be a string, got {label!r}")
        return dict(value)
