"""``corral simulate --clusters`` and ``corral compare --dispatch``: several clusters, one queue.

The commands in :mod:`corral.cli.main` hand over here when ``--clusters`` is given; the
simulator and pandas load only then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corral.cli.console import print_error, runs_status, stderr, stdout
from corral.model import ConfigError, CorralError

BAD_INPUT = 2

TABLE_WIDTH = 150
"""The tables are printed this wide at least (wrapping beats cutting figures off)."""

ClustersOption = Annotated[
    Path | None,
    typer.Option(help="A clusters.toml: replay each of its clusters' traces behind one "
                      "dispatcher (see docs/multicluster.md); a trace, --cluster or --queues "
                      "is then refused, and --policy and --load do not apply.", dir_okay=False,
                 show_default=False),
]
DispatchOption = Annotated[
    str | None,
    typer.Option(help="With --clusters: comma-separated dispatch policies (home, least-loaded, "
                      "predicted-wait, data-locality, cost, home-spill) to replay side by side; "
                      "default: the file's dispatch.policy.", show_default=False),
]


def replay_clusters(clusters: Path | None, dispatch: str | None, *, limit: int | None,
                    out: Path | None, as_json: bool, sim_config: Path | None,
                    unused: dict[str, object]) -> int:
    """Replay the clusters under each comma-separated dispatch policy (the file's own when
    None), side by side; returns the exit status. *unused* are the single-cluster options
    given (None where not): clusters.toml names each cluster's trace and nodes instead."""
    given = [name for name, value in unused.items() if value is not None]
    if given:
        print_error(f"{', '.join(given)} cannot be combined with --clusters/--dispatch: "
                    "clusters.toml names each cluster's trace, nodes and policy")
        return BAD_INPUT
    if clusters is None:
        print_error("--dispatch needs --clusters FILE.toml (see docs/multicluster.md)")
        return BAD_INPUT
    chosen: list[str | None] = [None]
    if dispatch is not None:
        chosen = [name.strip() for name in dispatch.split(",") if name.strip()]
        if not chosen:
            print_error("--dispatch: name at least one dispatch policy")
            return BAD_INPUT
    return _run(clusters, chosen, limit=limit, out=out, as_json=as_json, sim_config=sim_config)


def _run(clusters: Path, chosen: list[str | None], *, limit: int | None, out: Path | None,
         as_json: bool, sim_config: Path | None) -> int:
    import json

    from corral.multicluster.cluster_set import load_cluster_set
    from corral.multicluster.dispatch_policies import dispatch_policy
    from corral.multicluster.replay import replay
    from corral.multicluster.report import (
        cluster_table,
        overall_table,
        write_comparison,
        write_replay,
    )
    from corral.sim.config import load_sim_config

    try:
        if limit is not None and limit < 1:
            raise ConfigError(f"limit must be >= 1, got {limit}")
        cluster_set = load_cluster_set(clusters)
        for name in chosen:
            if name is not None:
                dispatch_policy(name)
        config = load_sim_config(sim_config) if sim_config is not None else None
        with runs_status(len(chosen)) as on_done:
            results = []
            for name in chosen:
                results.append(replay(cluster_set, dispatch=name, limit=limit,
                                      sim_config=config))
                on_done(len(results), len(chosen))
    except CorralError as exc:
        print_error(str(exc))
        return BAD_INPUT
    notes = stderr() if as_json else stdout()
    if as_json:
        print(json.dumps([r.summary for r in results], indent=2))
    else:
        console = stdout()
        console.width = max(console.width, TABLE_WIDTH)
        console.print(overall_table(results))
        console.print(cluster_table(results))
    if out is not None:
        try:
            paths = (write_replay(results[0], out) if len(results) == 1
                     else write_comparison(results, out))
        except OSError as exc:
            print_error(f"{out}: cannot write the result files ({exc.strerror or exc})")
            return BAD_INPUT
        notes.print(f"wrote {len(paths)} files to {out}", soft_wrap=True, highlight=False,
                    markup=False)
    return 0
