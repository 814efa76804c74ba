"""The ``corral`` command: replay traces and list what Corral knows.

A thin layer over :func:`corral.api.simulate` and the listing functions, so the command line
computes exactly what the Python API does. Bad input (any :class:`~corral.model.CorralError`)
ends in one red ``error:`` line and exit status 2, like a usage error, never a traceback.

Each command imports what it runs inside its own body: the simulator, pandas, the report's
plots and the sweep's executors load for ``simulate`` or ``compare``, never for
``corral scheduler`` or ``corral node-agent``, whose start-up is the time to a first bind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from corral import __version__
from corral.cli.agent import node_agent
from corral.cli.cache import cache_app
from corral.cli.command_group import BAD_INPUT, CorralGroup
from corral.cli.console import (
    job_progress,
    note,
    print_error,
    runs_status,
    set_verbosity,
)
from corral.cli.dispatcher import dispatcher
from corral.cli.history import app as history_app
from corral.cli.job_control import cancel, hold, resume
from corral.cli.jobs import jobs as jobs_command
from corral.cli.kubernetes import scheduler as kube_scheduler
from corral.cli.kubernetes import status as kube_status
from corral.cli.multicluster import ClustersOption, DispatchOption, replay_clusters
from corral.cli.output import Output, OutputOption, emit, emit_all, pick_output, table_console
from corral.cli.predict import predict_app
from corral.cli.profile import profile_app
from corral.cli.queues import app as queues_app
from corral.cli.serve import serve
from corral.cli.trial import trial_app
from corral.model import ConfigError, CorralError

if TYPE_CHECKING:
    from corral.sim.result import SimulationResult

SWEEP_FILE = "sweep.csv"

CLUSTER_SPECS = (
    ("PRESET", "a cluster preset (listed above)"),
    ("auto[:LOAD]", "8-GPU nodes, as many as keep the trace's work at LOAD on average "
                    "(0.01 <= LOAD <= 1, default 0.8)"),
    ("40x8", "40 nodes of 8 GPUs"),
    ("300x8:V100,100x4:T4", "groups of NODESxGPUS nodes, each with an optional :GPU_TYPE"),
    ("FILE.toml", "a TOML file of node groups (see docs/usage.md)"),
)
"""The forms ``--cluster`` accepts, as shown by ``corral traces``."""

NO_PUBLISHED_CLUSTER = "none published: defaults to auto"

app = typer.Typer(
    name="corral",
    help="Corral: a GPU cluster scheduler for deep-learning jobs, with a trace-driven simulator.",
    no_args_is_help=True,
    cls=CorralGroup,
    rich_markup_mode=None,  # help text as written: "[unit]" is text, not Rich markup
    pretty_exceptions_show_locals=False,
)
app.add_typer(history_app)
app.add_typer(predict_app, name="predict")
app.add_typer(cache_app, name="cache")
app.command("node-agent")(node_agent)
app.add_typer(profile_app, name="profile")
app.add_typer(trial_app, name="trial")
app.command("scheduler")(kube_scheduler)
app.command("status")(kube_status)
app.command("jobs")(jobs_command)
app.add_typer(queues_app)
app.command("cancel")(cancel)
app.command("hold")(hold)
app.command("resume")(resume)
app.command("dispatcher")(dispatcher)
app.command("serve")(serve)


# Arguments that `simulate` and `compare` share, spelt once.
TraceArgument = Annotated[
    str | None,
    typer.Argument(help="Trace file (CSV, gzipped or not); default: the bundled "
                        "2,000-job Philly sample.", show_default=False),
]
LimitOption = Annotated[
    int | None,
    typer.Option(min=1, help="Replay only the first N jobs by submit time.", show_default=False),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(help="Cluster spec: PRESET, 40x8, 300x8:V100,100x4:T4, auto[:LOAD] or a TOML "
                      "file (see `corral traces`); default: each trace's own cluster, else "
                      "auto.", show_default=False),
]
QueuesOption = Annotated[
    str | None,
    typer.Option(help="Queues with quotas: a TOML file (see docs/usage.md) or `auto` (one "
                      "queue per trace queue, guaranteed its share of the trace's GPU-time); "
                      "default: no quotas.", show_default=False),
]
LoadOption = Annotated[
    float, typer.Option(help="Scale the arrival rate: 2 replays the jobs arriving twice as "
                             "often, on the cluster the original trace sizes.")
]
LoadsOption = Annotated[
    str | None,
    typer.Option(help="Comma-separated arrival-rate factors to sweep, e.g. 0.5,0.7,0.9: a "
                      "row per policy and load, and jct_vs_load.png under --out.",
                 show_default=False),
]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"corral {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True,
                     help="Show the version and exit."),
    ] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="Log more: -v info, -vv debug.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="Results and errors only: no remarks, no "
                                             "progress, only errors logged.")] = False,
) -> None:
    """Corral: a GPU cluster scheduler for deep-learning jobs, with a trace-driven simulator."""
    if verbose and quiet:
        _fail("-v and -q exclude each other")
    set_verbosity(verbose, quiet)


@app.command()
def simulate(
    trace: TraceArgument = None,
    policy: Annotated[
        str, typer.Option(help="Built-in policy name (see `corral policies`) or a TOML file.")
    ] = "fifo",
    cluster: ClusterOption = None,
    limit: LimitOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write summary.json, jobs.csv and timeseries.csv into this folder.",
                     file_okay=False, show_default=False),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (recorded in summary.json).")] = 0,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first bad trace row instead of "
                                            "skipping it.")
    ] = False,
    sim_config: Annotated[
        Path | None,
        typer.Option("--sim-config", help="TOML file with progress-model parameters.",
                     dir_okay=False, show_default=False),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout (-o json).")
    ] = False,
    load: LoadOption = 1.0,
    queues: QueuesOption = None,
    clusters: ClustersOption = None,
    dispatch: DispatchOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Replay a trace on a cluster under a policy and report JCT, queueing and utilisation."""
    if clusters is not None or dispatch is not None:
        raise typer.Exit(replay_clusters(clusters, dispatch, limit=limit, out=out,
                                         as_json=as_json, sim_config=sim_config,
                                         unused={"TRACE": trace, "--cluster": cluster,
                                                 "--queues": queues}))
    from corral.api import simulate as run_simulation
    from corral.report import summary_json, summary_table, write_run
    from corral.sim.config import load_sim_config

    _check_out(out)
    try:
        config = load_sim_config(sim_config) if sim_config is not None else None
        with job_progress("simulating") as progress:
            result = run_simulation(trace, policy=policy, cluster=cluster, seed=seed,
                                    limit=limit, strict=strict, sim_config=config,
                                    progress=progress, load=load, queues=queues)
    except CorralError as exc:
        _fail(str(exc))
    output = pick_output(output, as_json)
    # Off a table, stdout carries the data alone; every remark goes to stderr.
    to_stderr = output in (Output.JSON, Output.CSV)
    if output is Output.JSON:
        typer.echo(summary_json(result.summary), nl=False)
    else:
        emit(summary_table(result), output)
    skipped = result.summary.get("skipped") or {}
    if skipped:
        counts = ", ".join(f"{reason} {count:,}" for reason, count in skipped.items())
        note(f"skipped: {counts}", err=to_stderr)
    if out is not None:
        try:
            paths = write_run(result, out)
        except OSError as exc:
            _fail(f"{out}: cannot write the run files ({exc.strerror or exc})")
        names = ", ".join(path.name for path in paths)
        note(f"wrote {names} to {out}", err=to_stderr)


@app.command()
def compare(
    ctx: typer.Context,
    policies: Annotated[
        str | None,
        typer.Option(help="Comma-separated built-in policy names or TOML files, e.g. "
                          "fifo,backfill,tiresias.", show_default=False),
    ] = None,
    trace: TraceArgument = None,
    cluster: ClusterOption = None,
    limit: LimitOption = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (recorded in each summary).")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(help="Write comparison.csv, report.html, and each policy's run files into "
                          "a folder named after it, into this folder.", file_okay=False,
                     show_default=False),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes; default: one per run, at most one per "
                                 "CPU.", show_default=False),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summaries as a JSON list (-o json).")
    ] = False,
    load: LoadOption = 1.0,
    queues: QueuesOption = None,
    loads: LoadsOption = None,
    sim_config: Annotated[Path | None, typer.Option(
        help="TOML file of simulator parameters for every run (as for simulate).",
        show_default=False)] = None,
    clusters: ClustersOption = None,
    dispatch: DispatchOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Replay one trace on one cluster under several policies and compare them side by side."""
    if clusters is not None or dispatch is not None:
        raise typer.Exit(replay_clusters(clusters, dispatch, limit=limit, out=out,
                                         as_json=as_json, sim_config=sim_config,
                                         unused={"TRACE": trace, "--cluster": cluster,
                                                 "--queues": queues}))
    if policies is None:
        _fail("give --policies A,B,... (or --clusters FILE.toml --dispatch A,B,...)")
    from corral.report.comparison import compare as run_comparison
    from corral.sweep import SweepError
    from corral.sweep.grid import loads_from_text

    chosen = _listed(policies)
    failed: SweepError | None = None
    _check_out(out)
    try:
        if loads is not None and _given(ctx, "load"):
            raise ConfigError("--load and --loads exclude each other: --load F runs one load, "
                              "--loads A,B,... sweeps several")
        swept = loads_from_text(loads) if loads is not None else (load,)
        with runs_status(len(chosen) * len(swept)) as on_done:
            results = run_comparison(trace, chosen, cluster, seed=seed, limit=limit,
                                     workers=jobs, load=swept, on_done=on_done,
                                     queues=queues, sim_config=sim_config)
    except SweepError as exc:
        results, failed = [r for r in exc.results if r is not None], exc
    except CorralError as exc:
        _fail(str(exc))
    _report(results, out, pick_output(output, as_json), title="Corral policy comparison",
            folder_parts=("policy", "load") if len(swept) > 1 else ("policy",))
    if failed is not None:
        _fail(str(failed))


@app.command()
def sweep(
    policies: Annotated[
        str,
        typer.Option(help="Comma-separated built-in policy names or TOML files.",
                     show_default=False),
    ],
    traces: Annotated[
        list[str] | None,
        typer.Argument(help="Trace files (CSV, gzipped or not); default: the bundled "
                            "2,000-job Philly sample.", show_default=False),
    ] = None,
    loads: LoadsOption = None,
    seeds: Annotated[
        str, typer.Option(help="Comma-separated seeds. 0 replays a trace as recorded; any "
                               "other seed deals its jobs to its arrival times in a random "
                               "order drawn from the seed.")
    ] = "0",
    cluster: ClusterOption = None,
    limit: LimitOption = None,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, help="Local worker processes; default: one per run, at most one "
                                 "per CPU.", show_default=False),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option("--ray", metavar="ADDRESS",
                     help="Run on the existing Ray cluster at ADDRESS (HOST:PORT of its head, "
                          "or auto); needs the ray extra.", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write sweep.csv, and each run's files into "
                          "TRACE/POLICY/load-L/seed-S/, into this folder.", file_okay=False,
                     show_default=False),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summaries as a JSON list (-o json).")
    ] = False,
    queues: QueuesOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Replay every combination of traces, policies, loads and seeds, here or on Ray."""
    from corral.report.comparison import FOLDER_PARTS
    from corral.sweep import LocalProcesses, RayCluster, SweepError, build_grid, run_sweep
    from corral.sweep.grid import loads_from_text, seeds_from_text

    chosen = _listed(policies)
    failed: SweepError | None = None
    _check_out(out)
    try:
        if ray is not None and jobs is not None:
            raise ConfigError("--jobs sets local worker processes; with --ray the Ray "
                              "cluster's CPUs decide how many runs go at once")
        executor = RayCluster(ray) if ray is not None else LocalProcesses(jobs)
        grid = build_grid(traces or [None], chosen, cluster=cluster, limit=limit,
                          loads=loads_from_text(loads) if loads is not None else (1.0,),
                          seeds=seeds_from_text(seeds), queues=queues)
        with runs_status(len(grid.cells)) as on_done:
            results = run_sweep(grid, executor, on_done)
    except SweepError as exc:
        results, failed = [r for r in exc.results if r is not None], exc
    except CorralError as exc:
        _fail(str(exc))
    _report(results, out, pick_output(output, as_json), title="Corral sweep", table_file=SWEEP_FILE,
            folder_parts=FOLDER_PARTS)
    if failed is not None:
        _fail(str(failed))


def _report(results: list[SimulationResult], out: Path | None, output: Output, *, title: str,
            folder_parts: Sequence[str], table_file: str | None = None) -> None:
    """Print *results* in *output*'s form and write them under *out*, for compare and sweep
    (*table_file* None: comparison.csv, with report.html beside it)."""
    from corral.report.comparison import (
        COMPARISON_FILE,
        REPORT_FILE,
        comparison_json,
        comparison_rich_table,
        comparison_table,
        fitting_comparison_table,
        write_comparison,
    )
    from corral.report.load_curves import LOAD_CURVES_FILE

    table_file = table_file or COMPARISON_FILE
    if output is Output.JSON:
        typer.echo(comparison_json(results), nl=False)
    elif output is Output.CSV:
        typer.echo(comparison_table(results).to_csv(index=False), nl=False)
    elif output is Output.WIDE:
        emit(comparison_rich_table(results, title=title), output)
    else:
        console = table_console()
        console.print(fitting_comparison_table(results, console, title=title))
    if out is None:
        return
    report = table_file == COMPARISON_FILE
    try:
        paths = write_comparison(results, out, table_file=table_file,
                                 folder_parts=folder_parts, report=report)
    except OSError as exc:
        _fail(f"{out}: cannot write the result files ({exc.strerror or exc})")
    files = [paths[0].name] + [p.name for p in paths
                               if p.name in (REPORT_FILE, LOAD_CURVES_FILE)]
    note(f"wrote {', '.join(files)} and {len(results)} run folders to {out}",
         err=output in (Output.JSON, Output.CSV))


@app.command()
def pack(
    trace: TraceArgument = None,
    policies: Annotated[
        str, typer.Option(help="Comma-separated built-in policy names or TOML files.")
    ] = "fgd,greedy",
    cluster: ClusterOption = None,
    limit: LimitOption = None,
    until: Annotated[
        float | None,
        typer.Option(help="Go on past failures (skipping the tasks that fail) until the "
                          "arrived load reaches this multiple of GPU capacity, e.g. 1.2; "
                          "default: stop at the first failure.", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write pack.csv (every arrival) and pack.png into this folder.",
                     file_okay=False, show_default=False),
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """FGD's packing experiment: tasks arrive in trace order and never leave; per policy,
    GPU allocation and fragmentation against the arrived load."""
    from corral.report.pack_report import pack_table, write_pack
    from corral.sim.packing import pack as run_packing

    names = _listed(policies)
    _check_out(out)
    try:
        with runs_status(len(names)):
            runs = run_packing(trace, names, cluster, limit=limit, until=until)
    except CorralError as exc:
        _fail(str(exc))
    emit(pack_table(runs), output)
    to_stderr = output in (Output.JSON, Output.CSV)
    never_fit = runs[0].never_fit
    if never_fit:
        note(f"left out: {never_fit:,} tasks that fit no node of this cluster", err=to_stderr)
    if out is not None:
        try:
            paths = write_pack(runs, out)
        except OSError as exc:
            _fail(f"{out}: cannot write the packing files ({exc.strerror or exc})")
        note(f"wrote {', '.join(path.name for path in paths)} to {out}", err=to_stderr)


@app.command()
def traces(output: OutputOption = Output.TABLE) -> None:
    """List the trace formats Corral reads, the cluster presets and the cluster spec forms."""
    from rich.table import Table

    from corral.clusters import list_presets
    from corral.traces import list_formats

    formats = Table(title="Trace formats (told apart by their header line)", title_justify="left")
    formats.add_column("format", style="bold")
    formats.add_column("description")
    formats.add_column("cluster")
    for fmt in list_formats():
        published = f"{fmt.cluster} ({fmt.cluster_note})" if fmt.cluster else NO_PUBLISHED_CLUSTER
        formats.add_row(fmt.name, fmt.description, published)
    presets = Table(title="Cluster presets", title_justify="left")
    presets.add_column("preset", style="bold")
    presets.add_column("description")
    for name, description in list_presets():
        presets.add_row(name, description)
    specs = Table(title="Cluster specs (--cluster)", title_justify="left")
    specs.add_column("form", style="bold")
    specs.add_column("meaning")
    for form, meaning in CLUSTER_SPECS:
        specs.add_row(form, meaning)
    emit_all({"formats": formats, "presets": presets, "cluster_specs": specs}, output)


@app.command()
def policies(output: OutputOption = Output.TABLE) -> None:
    """List the built-in scheduling policies."""
    from rich.table import Table

    from corral.policies import list_policies

    try:
        known = list_policies()
    except CorralError as exc:
        _fail(str(exc))
    table = Table(title="Built-in policies (--policy NAME, or a TOML file)", title_justify="left")
    table.add_column("policy", style="bold")
    table.add_column("description")
    for name, description in known:
        table.add_row(name, description)
    emit(table, output)


def _listed(text: str) -> list[str]:
    """``"fifo, tiresias,"`` -> ``["fifo", "tiresias"]``."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _given(ctx: typer.Context, parameter: str) -> bool:
    """Whether *parameter* was set by the user rather than left at its default."""
    source = ctx.get_parameter_source(parameter)
    return source is not None and source.name != "DEFAULT"


def _check_out(out: Path | None) -> None:
    """Make *out* and try a file in it before any run starts, so a folder that cannot be
    written fails at once, not after the runs."""
    if out is None:
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        _fail(f"--out {out}: cannot write there ({exc.strerror or exc})")


def _fail(message: str) -> NoReturn:
    """Report bad input on one line and leave with :data:`BAD_INPUT`."""
    print_error(message)
    raise typer.Exit(BAD_INPUT)
