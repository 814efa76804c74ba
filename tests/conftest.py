"""Test configuration: make ``tests/builders.py`` importable as ``builders``, and give every test
the log levels and console mode a fresh process has."""

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _fresh_cli_verbosity() -> Iterator[None]:
    """``corral -q``/``-v`` run through a CliRunner set Corral's log level and quiet mode for
    the rest of the process; a later test would then see no warnings logged."""
    from corral.cli import console

    logger = logging.getLogger("corral")
    level, quiet = logger.level, console.quiet()
    yield
    logger.setLevel(level)
    console.set_quiet(quiet)
