"""Typed ids of the cache's *units*, the entries of the core state built from pods.

A unit's id is also its core job's id, so it travels as a string (``str(unit)``); this module
is the one place that writes and reads that string, so no caller splits or prefix-matches it:

- ``pod/<ns>/<name>``: a lone pod of ours, pending or bound;
- ``gang/<kind>/<ns>/<name>``: the pending members of a gang, as one job, until the gang's
  minimum is bound (or assumed);
- ``gang/<kind>/<ns>/<name>#pod/<pod>``: once it is, each pending member on its own;
- ``gang/<kind>/<ns>/<name>#bound``: its bound members, one running job (evicted whole);
- ``other/<ns>/<name>``: a pod another scheduler bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from corral.k8s.gangs import GangRef

EXTRA = "#pod/"
"""Marks the unit of a gang member beyond the minimum: ``<gang unit>#pod/<pod name>``."""
BOUND = "#bound"
"""Marks the unit of a gang's bound members: ``<gang unit>#bound``."""


class Family(StrEnum):
    """What a unit is built from."""

    POD = "pod"
    GANG = "gang"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class UnitId:
    """One unit: its family, the key of its pod (``<ns>/<name>``) or gang
    (``<kind>/<ns>/<name>``), and for a gang which part (``#bound``, ``#pod/<pod>`` or none)."""

    family: Family
    key: str
    part: str = ""

    @classmethod
    def parse(cls, unit: str) -> UnitId:
        """The id a unit string names (as :func:`str` writes it)."""
        family, slash, rest = unit.partition("/")
        try:
            kind = Family(family) if slash else None
        except ValueError:
            kind = None
        if kind is None:
            raise ValueError(f"not a unit id: {unit!r}")
        if kind is not Family.GANG:
            return cls(kind, rest)
        key, mark, part = rest.partition("#")
        return cls(kind, key, mark + part)

    @classmethod
    def find(cls, text: str) -> UnitId | None:
        """The unit *text* names; None if it names something else (a node, a queue)."""
        try:
            return cls.parse(text)
        except ValueError:
            return None

    @classmethod
    def gang(cls, ref: GangRef) -> UnitId:
        """The pending members of the gang *ref* names, as one job."""
        return cls(Family.GANG, f"{ref.kind}/{ref.key}")

    def __str__(self) -> str:
        return f"{self.family.value}/{self.key}{self.part}"

    @property
    def label(self) -> str:
        """How messages name the unit: ``<ns>/<name>``, with a gang's part."""
        if self.family is not Family.GANG:
            return self.key
        return self.key.split("/", 1)[1] + self.part

    @property
    def is_gang_base(self) -> bool:
        """True for a gang's pending members filed as one job."""
        return self.family is Family.GANG and not self.part

    @property
    def is_bound_part(self) -> bool:
        return self.part == BOUND

    @property
    def is_extra(self) -> bool:
        return self.part.startswith(EXTRA)

    @property
    def is_other(self) -> bool:
        return self.family is Family.OTHER

    @property
    def base(self) -> UnitId:
        """The gang unit this one (its bound part, or one extra member) belongs to."""
        return UnitId(self.family, self.key)

    @property
    def bound(self) -> UnitId:
        """The bound part of this unit's gang."""
        return UnitId(self.family, self.key, BOUND)

    def extra(self, pod_name: str) -> UnitId:
        """The unit of member *pod_name* of this gang, filed on its own."""
        return UnitId(self.family, self.key, EXTRA + pod_name)

    @property
    def gang_ref(self) -> GangRef | None:
        """The gang this unit belongs to; None for a lone pod's."""
        if self.family is not Family.GANG:
            return None
        kind, namespace, name = self.key.split("/", 2)
        return GangRef(kind, namespace, name)
