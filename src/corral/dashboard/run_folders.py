"""Simulation runs on disk: every folder under the runs root holding a ``summary.json``
(``corral simulate --out``, each run of ``compare`` and ``sweep``), with its HTML report.

Paths come from the browser, so every one is resolved and must stay inside the root.
"""

from __future__ import annotations

import json
from pathlib import Path

from corral.dashboard.api_models import RunRow

SUMMARY = "summary.json"
REPORTS = ("report.html", "comparison.html", "sweep.html")
MAX_DEPTH = 4
MAX_RUNS = 2000


class RunFolders:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def runs(self) -> list[RunRow]:
        """Each run's summary (scalars only), by path; at most :data:`MAX_RUNS`."""
        found: list[RunRow] = []
        if not self.root.is_dir():
            return found
        for summary in sorted(self.root.rglob(SUMMARY)):
            relative = summary.parent.relative_to(self.root)
            if len(relative.parts) > MAX_DEPTH or len(found) == MAX_RUNS:
                continue
            try:
                data = json.loads(summary.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict):
                continue
            scalars = {str(k): v for k, v in data.items()
                       if v is None or isinstance(v, str | int | float | bool)}
            found.append(RunRow(path=relative.as_posix() or ".", summary=scalars,
                                report=self._report(summary.parent)))
        return found

    def _report(self, folder: Path) -> str | None:
        for directory in (folder, folder.parent):
            for name in REPORTS:
                candidate = directory / name
                if candidate.is_file() and candidate.resolve().is_relative_to(self.root):
                    return candidate.relative_to(self.root).as_posix()
        return None

    def report_file(self, relative: str) -> Path | None:
        """The report at *relative*, or None if it is not an HTML file inside the root (or
        not a path at all: a NUL byte)."""
        if "\0" in relative:
            return None
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root) or path.suffix != ".html" or not path.is_file():
            return None
        return path
