"""The one result type of every extension point, with a closed set of codes.

Follows the Kubernetes scheduling framework's ``Status``: "does not fit" is a status, never an
exception, and the code tells the cycle what to do next.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Code(enum.Enum):
    """What a plugin's answer means for the job it was asked about."""

    SUCCESS = "success"
    """Go on."""
    UNSCHEDULABLE = "unschedulable"
    """Does not fit now; preemption (PostFilter) may help."""
    UNRESOLVABLE = "unresolvable"
    """Cannot fit on this cluster even if it were empty; preemption is pointless."""
    WAIT = "wait"
    """Not now, for a reason other than capacity (quota, gang not complete...)."""
    ERROR = "error"
    """A plugin failed; the job waits and the error is reported."""


@dataclass(frozen=True, slots=True)
class Status:
    """A code, the human-readable reasons, and the plugin that decided."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str | None = None
    ok: bool = field(init=False, repr=False, compare=False)
    """True for SUCCESS (a field, not a property: it is read on every placement)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", self.code is Code.SUCCESS)

    @property
    def message(self) -> str:
        """The reasons as one line, prefixed with the deciding plugin."""
        text = "; ".join(self.reasons) or self.code.value
        return f"{self.plugin}: {text}" if self.plugin else text


OK = Status()
"""The shared SUCCESS status."""


def unschedulable(plugin: str, *reasons: str) -> Status:
    """A 'does not fit now' status from *plugin*."""
    return Status(Code.UNSCHEDULABLE, reasons, plugin)


def unresolvable(plugin: str, *reasons: str) -> Status:
    """A 'can never fit on this cluster' status from *plugin*."""
    return Status(Code.UNRESOLVABLE, reasons, plugin)
