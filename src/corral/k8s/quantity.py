"""Kubernetes resource quantities (``500m``, ``2``, ``10Gi``, ``1e3``) in Corral's units.

Parsed exactly with :class:`~decimal.Decimal`, as the API server's own ``resource.Quantity``
is, so ``0.1`` CPU is 100 milli-CPU and never 99.99...; a malformed quantity is an
:class:`~corral.model.InvalidSpec` naming it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from corral.model import InvalidSpec

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}
_PATTERN = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([numkMGTPE]i?)?$")
_MIB = Decimal(2**20)


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a quantity; InvalidSpec if it is not one or is negative. The few
    distinct strings a cluster uses are parsed once (every watched pod repeats them)."""
    if isinstance(value, str) and len(value) <= _CACHED_LENGTH:
        return _parse_cached(value)
    return _parse(value)


_CACHED_LENGTH = 64


@lru_cache(maxsize=4096)
def _parse_cached(value: str) -> Decimal:
    return _parse(value)


def _parse(value: str | int | float) -> Decimal:
    text = str(value).strip()
    match = _PATTERN.match(text)
    suffix = match.group(2) or "" if match else ""
    if match is None or suffix not in _SUFFIX or suffix in ("ki", "mi"):
        raise InvalidSpec(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 10Gi)")
    try:
        amount = Decimal(match.group(1)) * _SUFFIX[suffix]
    except InvalidOperation:
        raise InvalidSpec(f"{value!r} is not a Kubernetes quantity") from None
    if amount < 0:
        raise InvalidSpec(f"quantity {value!r} is negative")
    return amount


def cpu_milli(value: str | int | float) -> int:
    """Milli-CPU, rounded up (a request never shrinks in conversion)."""
    return math.ceil(parse_quantity(value) * 1000)


def memory_mib(value: str | int | float) -> int:
    """MiB, rounded up for requests."""
    return math.ceil(parse_quantity(value) / _MIB)


def memory_mib_floor(value: str | int | float) -> int:
    """MiB, rounded down for capacity (a node never grows in conversion)."""
    return math.floor(parse_quantity(value) / _MIB)


def count(value: str | int | float, what: str) -> int:
    """A whole count (GPUs): InvalidSpec if the quantity is fractional."""
    amount = parse_quantity(value)
    if amount != amount.to_integral_value():
        raise InvalidSpec(f"{what} must be a whole number, got {value!r}")
    return int(amount)
