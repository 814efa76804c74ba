"""The ``corral`` command group: every error, an option typo included, as one ``error:`` line.

Click shows usage errors in its own frame (with Rich, a boxed panel) while Corral's commands
print ``error: ...``; scripts and people then read two styles. Here click's usage and other
errors are caught where the command line is parsed and printed the way the commands print
bad input, with the same exit status 2 and a pointer to the command's ``--help``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer 0.24 and later parse with their own copy of click
    from typer._click import exceptions as click_errors
except ImportError:
    from click import exceptions as click_errors

from corral.cli.console import print_error
from corral.extras import MissingExtra

BAD_INPUT = 2
"""Exit status for bad input, the same that click uses for usage errors."""


class CorralGroup(TyperGroup):
    """Typer's group with usage errors printed as ``error: ...`` (exit 2)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode,
                                windows_expand_args, **extra)
        try:
            status = super().main(args, prog_name, complete_var, False,
                                  windows_expand_args, **extra)
        except MissingExtra as exc:  # raised where a command imports what an extra provides
            print_error(str(exc))
            sys.exit(BAD_INPUT)
        except click_errors.NoArgsIsHelpError as exc:  # `corral` alone: its help
            exc.show()
            sys.exit(exc.exit_code)
        except click_errors.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            print_error(f"{exc.format_message()}{hint}")
            sys.exit(BAD_INPUT)
        except click_errors.ClickException as exc:
            print_error(exc.format_message())
            sys.exit(exc.exit_code)
        except typer.Abort:  # Ctrl-C or EOF at a prompt
            print_error("aborted")
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)
