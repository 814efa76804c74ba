"""What each optional part of Corral needs, and one clear error when it is not installed.

``pip install corral`` gives the simulator and the command line; the live scheduler, the node
agent, duration prediction, the data cache's remote sources and mounts, and Ray sweeps come
with extras. A package that needs an extra checks for it when first imported, so a missing one
is an error naming the extra to install, not a ``ModuleNotFoundError`` deep in a traceback.
"""

from __future__ import annotations

from importlib.util import find_spec

from corral.model import CorralError


class MissingExtra(CorralError):
    """A part of Corral was used whose optional dependencies are not installed."""


def require(extra: str, purpose: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` unless every top-level module in *modules* is importable;
    looked up without importing, so the check costs no start-up time."""
    missing = [module for module in modules if find_spec(module) is None]
    if missing:
        raise MissingExtra(f"{purpose} needs Corral's {extra!r} extra ({', '.join(missing)} "
                           f"not installed): pip install 'corral[{extra}]'")
