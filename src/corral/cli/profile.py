"""``corral profile``: measurements on a GPU node that teach the simulator."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from corral.cli.console import print_error, stdout
from corral.model import CorralError

BAD_INPUT = 2

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
                                            fractions, seconds)
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
