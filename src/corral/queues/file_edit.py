"""Create a queue in, or change a quota of, a TOML queue file, keeping its comments and layout.

Each edit is checked by reading the edited text as :func:`load_queue_file` reads the file
(every limit and the parent rules), and only then written, through a temporary file renamed
over the original, so a refused edit or a crash leaves the file as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit

from corral.model import ConfigError, QueueTree
from corral.queues.toml_file import load_queue_file


def create_queue(path: str | os.PathLike[str], name: str, *, gpus: float,
                 parent: str | None = None, weight: float = 1.0,
                 borrowing_limit: float | None = None) -> None:
    """Add a ``[[queues]]`` table (the file is made if missing); an existing name is an error."""
    target = Path(path)
    document = read_document(target) if target.exists() else tomlkit.document()
    tables = document.setdefault("queues", tomlkit.aot())
    if any(table.get("name") == name for table in tables):
        raise ConfigError(f"{target}: queue {name!r} exists already; change its quota with "
                          "`corral queues set-quota`")
    table = tomlkit.table()
    table["name"] = name
    if parent is not None:
        table["parent"] = parent
    if weight != 1.0:
        table["weight"] = weight
    table["quota"] = _inline({"gpu": _amount(gpus)})
    if borrowing_limit is not None:
        table["borrowing_limit"] = _inline({"gpu": _amount(borrowing_limit)})
    tables.append(table)
    write_checked(target, document)


def set_quota(path: str | os.PathLike[str], name: str, *, gpus: float | None = None,
              borrowing_limit: float | None = None) -> None:
    """Set a queue's GPU quota and/or borrowing limit; other resources stay as they are."""
    target = Path(path)
    document = read_document(target)
    table = next((t for t in document.get("queues", []) if t.get("name") == name), None)
    if table is None:
        raise ConfigError(f"{target}: no queue named {name!r}")
    if gpus is not None:
        table.setdefault("quota", _inline({}))["gpu"] = _amount(gpus)
    if borrowing_limit is not None:
        table.setdefault("borrowing_limit", _inline({}))["gpu"] = _amount(borrowing_limit)
    write_checked(target, document)


def _amount(gpus: float) -> int | float:
    """``8`` rather than ``8.0`` where the amount is whole, as people write quotas."""
    return int(gpus) if float(gpus).is_integer() else gpus


def _inline(values: dict[str, Any]) -> Any:
    inline = tomlkit.inline_table()
    inline.update(values)
    return inline


def read_document(path: Path) -> Any:
    """The queue file as a tomlkit document, comments and layout included."""
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the queue file ({exc.strerror or exc})") from None
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def write_checked(path: Path, document: Any) -> QueueTree:
    """Write *document* over *path* only if it reads back as a valid queue file; return what
    it holds."""
    text = tomlkit.dumps(document)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".toml")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the queue file ({exc.strerror or exc})") \
            from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        if path.exists():  # the edited file keeps its permissions
            os.chmod(temporary, path.stat().st_mode)
        try:
            tree = load_queue_file(temporary)
        except ConfigError as exc:  # name the user's file, not the temporary one
            raise ConfigError(str(exc).replace(temporary, str(path))) from None
        os.replace(temporary, path)
        return tree
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
