"""Every admin change, appended as one JSON line: when, who, what, and the values before and
after. The file is only ever appended to, and each line is flushed before the change is
answered, so a crash loses no record of a change the caller saw succeed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class AuditLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def append(self, user: str, action: str, target: str, before: Any, after: Any) -> None:
        entry = {"time": time.time(), "user": user, "action": action, "target": target,
                 "before": before, "after": after}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]
