"""The packing experiment as a figure: allocation and fragmentation against arrived load.

The two panels of FGD's evaluation (Weng et al., ATC'23, §6): GPUs allocated, and expected GPUs
fragmented, each as a share of cluster capacity, as tasks keep arriving. One line per policy; a
cross marks each policy's first failed task. Drawn with matplotlib's Agg canvas directly (no
pyplot state), so it works without a display and in parallel code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from corral.sim.packing import PackRun


def pack_plot(runs: Sequence[PackRun], path: Path, title: str = "") -> Path:
    """Draw *runs* into a PNG at *path* and return the path."""
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    allocated, fragmented = figure.subplots(1, 2, sharex=True)
    reach = max(float(run.arrivals["arrived_pct"].max()) for run in runs)
    full = min(reach, 100.0)
    allocated.plot([0, full, reach], [0, full, full], color="0.75", linestyle=":",
                   label="all placed")
    for run in runs:
        rows = run.arrivals
        line = allocated.plot(rows["arrived_pct"], rows["allocated_pct"], label=run.policy)[0]
        fragmented.plot(rows["arrived_pct"], rows["frag_pct"], color=line.get_color(),
                        label=run.policy)
        first = run.first_failure()
        if first is not None:
            for axes, column in ((allocated, "allocated_pct"), (fragmented, "frag_pct")):
                axes.plot(first["arrived_pct"], first[column], marker="x", markersize=9,
                          color=line.get_color())
    allocated.set_ylabel("GPUs allocated (% of capacity)")
    fragmented.set_ylabel("GPUs fragmented (% of capacity)")
    for axes in (allocated, fragmented):
        axes.set_xlabel("arrived load (% of GPU capacity)")
        axes.grid(True, alpha=0.3)
        axes.set_xlim(left=0)
        axes.set_ylim(bottom=0)
    allocated.legend(loc="upper left")
    figure.suptitle(title or "Packing: tasks arrive and never leave (x: first failed task)")
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path
