"""``corral profile``: measurements on a GPU node that teach the simulator."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from corral.cli.console import print_error, stdout
from corral.model import CorralError

BAD_INPUT = 2
UNDETERMINED = 3
"""``check-rule``: the table has no utilisation to check the rule against."""

profile_app = typer.Typer(no_args_is_help=True, help="Measure GPU workloads on this node.")


@profile_app.command()
def interference(
    out: Annotated[Path, typer.Option(help="Folder for interference.csv and sim-config.toml.")],
    gpu: Annotated[int, typer.Option(help="Index of the GPU to measure on.")] = 0,
    workloads: Annotated[str, typer.Option(help="Comma-separated reference workloads.")] =
        "gemm,copy,conv,transformer",
    shares: Annotated[str, typer.Option(help="Comma-separated compute shares, each <= 0.5.")] =
        "0.5",
    seconds: Annotated[float, typer.Option(min=1.0, help="Measured seconds per run.")] = 10.0,
    mps_control: Annotated[str, typer.Option(help="The MPS control program.")] =
        "nvidia-cuda-mps-control",
) -> None:
    """Run reference workloads alone and in pairs under MPS; write the slowdown table."""
    from corral.agent.interference import profile_interference, write_table
    from corral.agent.mps import MpsDaemons
    from corral.agent.nvml import PynvmlBackend

    def sample_util() -> float | None:
        sample = next((g for g in nvml.read().gpus if g.index == gpu), None)
        return None if sample is None or sample.error else sample.util_percent / 100

    try:
        nvml = PynvmlBackend()
        info = next((g for g in nvml.gpus() if g.index == gpu), None)
        if info is None:
            raise CorralError(f"--gpu {gpu}: no such GPU on this node")
        fractions = [float(s) for s in shares.split(",") if s.strip()]
        with tempfile.TemporaryDirectory(prefix="corral-mps-") as root:
            mps = MpsDaemons(Path(root), {gpu: info.uuid}, mps_control)
            try:
                rows = profile_interference(mps, gpu, info.uuid, info.memory_total_mib,
                                            [w.strip() for w in workloads.split(",")],
                                            fractions, seconds, sample_util)
            finally:
                mps.stop_all()
        write_table(rows, out, info.name, nvml.driver_version())
    except (CorralError, ValueError) as exc:
        print_error(str(exc))
        raise typer.Exit(BAD_INPUT) from None
    for row in rows:
        stdout().print(f"{row.workload:>12} beside {row.partner:<12} share {row.share:.2f}: "
                       f"slowdown {row.slowdown:.2f}", highlight=False)
    stdout().print(f"wrote {out / 'interference.csv'} and {out / 'sim-config.toml'}",
                   highlight=False)


@profile_app.command("check-rule")
def check_rule_command(
    table: Annotated[Path | None, typer.Argument(
        help="An interference table (interference.csv); default: the one shipped with Corral.",
        show_default=False)] = None,
    max_utilisation: Annotated[float, typer.Option(
        help="The rule: pack only while the co-located workloads' summed GPU utilisation "
             "(each measured alone) stays at or below this (0.7 = 70%).")] = 0.7,
    max_slowdown: Annotated[float, typer.Option(
        help="The bound the rule should guarantee: each workload at most this much slower "
             "beside its partner (1.25 = 25% slower).")] = 1.25,
) -> None:
    """Check the rule of thumb "pack while utilisation <= 70%" against a measured table.

    Exit status 0 when it holds, 1 when a pair within the threshold breaks the bound, 3 when
    the table cannot say (no utilisation measured), 2 on bad input.
    """
    from corral.measured import check_rule, default_interference_table, read_interference_table

    try:
        loaded = read_interference_table(table) if table is not None \
            else default_interference_table()
        result = check_rule(loaded, max_utilisation, max_slowdown)
    except CorralError as exc:
        print_error(str(exc))
        raise typer.Exit(BAD_INPUT) from None
    stdout().print(f"table: {loaded.origin} ({loaded.meta.get('source', 'no source given')}"
                   f"{', ' + loaded.meta['gpu'] if 'gpu' in loaded.meta else ''})",
                   highlight=False, soft_wrap=True)
    stdout().print(result.summary(), highlight=False, soft_wrap=True)
    if result.holds is None:
        raise typer.Exit(UNDETERMINED)
    if not result.holds:
        raise typer.Exit(1)
