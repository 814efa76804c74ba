"""The one error trace readers raise, so callers can report bad input without a traceback."""

from __future__ import annotations

from corral.model import CorralError


class TraceError(CorralError):
    """A trace file that cannot be read, or (in strict mode) a row that is not valid.

    The message names the file and, where one is to blame, the line (1-based, header = line 1)
    and the field.
    """
