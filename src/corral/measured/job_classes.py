"""Which measured workload class a job belongs to, from its name.

Jobs carry no workload label, but their names usually say what they train (``bert-large-42``,
``resnet50-sweep``). A policy maps name patterns (shell-style globs, first match wins, in the
order written) to the class names a measured table uses; a job that matches none has no class,
and the tables fall back to what they know about every class together.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from corral.model import ConfigError, Job


class JobClasses:
    """Name pattern -> class, first match wins (see the module docstring)."""

    def __init__(self, patterns: Mapping[str, str], where: str = "job_classes") -> None:
        if not isinstance(patterns, Mapping):
            raise ConfigError(f"{where} must be a table of name pattern = class, "
                              f"got {type(patterns).__name__}")
        for pattern, name in patterns.items():
            if not isinstance(pattern, str) or not pattern or not isinstance(name, str) \
                    or not name:
                raise ConfigError(f"{where}: {pattern!r} = {name!r}: pattern and class must "
                                  "be non-empty strings")
        self._patterns = tuple(patterns.items())
        self._cache: dict[str, str | None] = {}

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def of(self, job: Job) -> str | None:
        """The class of *job* by its name (its id when it has none), or None."""
        return self.of_name(job.name or job.id)

    def of_name(self, name: str) -> str | None:
        found = self._cache.get(name, "")
        if found == "":
            found = next((cls for pattern, cls in self._patterns
                          if fnmatch.fnmatchcase(name, pattern)), None)
            self._cache[name] = found
        return found
