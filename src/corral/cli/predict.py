"""``corral predict``: how well job durations can be predicted at submit time."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from corral.cli.console import print_error
from corral.cli.output import Output, OutputOption, emit, pick_output
from corral.model import CorralError

BAD_INPUT = 2
"""Exit status for bad input, as for every other command."""

predict_app = typer.Typer(help="Predict job durations from what is known at submit time.",
                          no_args_is_help=True)


@predict_app.command("evaluate")
def evaluate_command(
    trace: Annotated[str | None, typer.Argument(
        help="Trace file (CSV, gzipped or not); default: the bundled 2,000-job Philly sample.",
        show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table "
                                                             "(-o json).")]
    = False,
    output: OutputOption = Output.TABLE,
    train_fraction: Annotated[float, typer.Option(
        help="Share of jobs, by submit time, to train on; the rest are scored.")] = 0.7,
    limit: Annotated[int | None, typer.Option(
        min=1, help="Use only the first N jobs by submit time.", show_default=False)] = None,
) -> None:
    """Train on the start of TRACE, then score the model and the fallback on the rest."""
    from corral.predict import evaluate
    from corral.traces import read_trace

    try:
        result = evaluate(read_trace(trace, limit=limit).jobs, train_fraction)
    except CorralError as exc:
        print_error(str(exc))
        raise typer.Exit(BAD_INPUT) from None
    if pick_output(output, json_output) is Output.JSON:
        print(json.dumps(result.to_json()))
        return
    from rich.table import Table

    table = Table(title=f"Duration prediction on {result.jobs} test jobs "
                        f"(trained on {result.train_jobs})")
    for column in ("predictor", "MAE (s)", "MdAPE (%)", "within 2x"):
        table.add_column(column, justify="left" if column == "predictor" else "right")
    for name, scores in (("model", result.model), ("fallback", result.fallback)):
        table.add_row(name, f"{scores.mae:,.0f}", f"{scores.mdape:.1f}", f"{scores.within_2x:.3f}")
    emit(table, output)
