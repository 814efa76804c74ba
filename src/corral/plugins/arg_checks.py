"""Type and range checks for plugin arguments, each error naming ``Plugin.argument``.

Arguments come from policy TOML, where any value can be written: a string, a boolean, a list,
``nan`` or ``inf``. Each must end as one :class:`ConfigError` that names the plugin and the
argument (the policy loader adds the file), never as a ``TypeError`` from a comparison, and
never be taken silently: a NaN compares false with everything, so a NaN threshold or weight
would quietly switch a rule off.
"""

from __future__ import annotations

import math

from corral.model import ConfigError
from corral.model.limits import MAX_DURATION_S

MAX_SECONDS = float(MAX_DURATION_S)
"""Longest wait or period an argument may give: 10 years, the longest run a trace may have."""
MIN_REKEY_SECONDS = 1.0
"""Re-keying walks the whole pending queue; more often than once a second costs a walk per
cycle and changes nothing that traces (whole seconds) resolve."""


def number(where: str, value: object, *, low: float, high: float, low_open: bool = False,
           optional: bool = False) -> float | None:
    """*value* if it is a finite number (not a bool) in ``[low, high]`` (``(low, high]`` with
    *low_open*), or None where *optional* allows it; else a :class:`ConfigError`."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not low <= value <= high \
            or (low_open and value == low):
        interval = f"{'(' if low_open else '['}{_shown(low)}, {_shown(high)}]"
        absent = " or absent" if optional else ""
        raise ConfigError(f"{where} must be a number in {interval}{absent}, got {value!r}")
    return float(value)


def whole(where: str, value: object, *, low: int, high: int, optional: bool = False) -> int | None:
    """*value* if it is an integer (not a bool) in ``[low, high]``, or None where *optional*
    allows it; else a :class:`ConfigError`."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        absent = " or absent" if optional else ""
        raise ConfigError(f"{where} must be an integer in [{low:,}, {high:,}]{absent}, "
                          f"got {value!r}")
    return value


def seconds(where: str, value: object, *, optional: bool = False) -> float | None:
    """A wait in seconds: > 0 and at most :data:`MAX_SECONDS`."""
    return number(where, value, low=0.0, high=MAX_SECONDS, low_open=True, optional=optional)


def rekey_seconds(where: str, value: object) -> float:
    """A re-keying period: :data:`MIN_REKEY_SECONDS` to :data:`MAX_SECONDS`."""
    checked = number(where, value, low=MIN_REKEY_SECONDS, high=MAX_SECONDS)
    assert checked is not None
    return checked


def _shown(bound: float) -> str:
    """``315360000.0`` -> ``315,360,000``; ``0.5`` -> ``0.5``."""
    return f"{bound:,.0f}" if bound == int(bound) else f"{bound:g}"
