"""``corral trial``: run a job briefly under several configurations and keep its throughput."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from corral.cli.console import print_error, stdout
from corral.cli.output import Output, OutputOption, emit
from corral.history import DEFAULT_URL  # the store (SQLAlchemy) loads in the commands
from corral.model import ConfigError, CorralError

BAD_INPUT = 2

trial_app = typer.Typer(no_args_is_help=True, help="Trial runs: measured throughput per "
                                                   "configuration (GPU count, type, share).")

DbOption = Annotated[str, typer.Option("--db", help="Job-history database URL.")]
ConfigOption = Annotated[list[str], typer.Option(
    "--config", help="A configuration: gpus=N[,share=F][,type=GPU]; repeat for several.")]


@trial_app.command("run")
def run_trials(
    command: Annotated[list[str], typer.Argument(
        help="The workload to run (after --); it prints 'corral-throughput: <n> [unit]'.")],
    job: Annotated[str, typer.Option(help="The key its results are stored under.")],
    config: ConfigOption,
    seconds: Annotated[float, typer.Option(min=0.1, help="Seconds per configuration.")] = 60.0,
    gpus: Annotated[str | None, typer.Option(
        help="GPU indices trials may use, e.g. 0,1 (default: every GPU NVML lists).",
        show_default=False)] = None,
    gpu_type: Annotated[str | None, typer.Option(
        help="The GPUs' type (default: the model NVML reports).", show_default=False)] = None,
    mps_pipe_dir: Annotated[str, typer.Option(
        help="Pipe directory of the first GPU's MPS control daemon, for shares below 1.")] = "",
    replay: Annotated[Path | None, typer.Option(
        help="Read GPUs and utilisation from a recording (fake NVML) instead of NVML.",
        show_default=False)] = None,
    db: DbOption = DEFAULT_URL,
    output: OutputOption = Output.TABLE,
) -> None:
    """Run a local command under each configuration and store its measured throughput."""
    from corral.agent.trials import LocalNode, TrialError, parse_config, run_local
    from corral.history import HistoryStore

    try:
        configs = [parse_config(text) for text in config]
        if not configs:
            raise ConfigError("give at least one --config")
        nvml = _nvml(replay, required=gpus is None or gpu_type is None)
        infos = nvml.gpus() if nvml is not None else []
        indices = tuple(_indices(gpus)) if gpus is not None else tuple(g.index for g in infos)
        kind = gpu_type or next((g.name for g in infos if g.index in indices), "")
        if not indices or not kind:
            raise ConfigError("no GPU to try on: give --gpus and --gpu-type")
        node = LocalNode(indices, kind, mps_pipe_dir)
        sampler = _sampler(nvml) if nvml is not None else None
        store = HistoryStore(db)
    except CorralError as exc:
        _fail(str(exc))
    failed = 0
    from rich.table import Table

    table = Table(title=f"Trial runs of {job} on {kind}")
    for column in ("configuration", "throughput", "unit"):
        table.add_column(column)
    with store:
        for cfg in configs:
            try:
                result = run_local(command, cfg, node, seconds, job, sampler)
            except TrialError as exc:
                failed += 1
                print_error(str(exc))
                table.add_row(cfg.text(), "-", "failed")
                continue
            except CorralError as exc:
                _fail(str(exc))
            store.add_trials([result.row()])
            table.add_row(cfg.text(), f"{result.throughput:.4g}", result.unit)
    emit(table, output)
    if failed:
        raise typer.Exit(1)


@trial_app.command("manifest")
def manifest(
    template: Annotated[Path, typer.Argument(help="A Pod, PodTemplate or Job YAML file.")],
    job: Annotated[str, typer.Option(help="The key results are stored under.")],
    node: Annotated[str, typer.Option(help="The node whose agent runs the trials.")],
    config: ConfigOption,
    name: Annotated[str, typer.Option(help="The TrialRun's name.")] = "",
    namespace: Annotated[str, typer.Option(help="Its namespace.")] = "default",
    seconds: Annotated[float, typer.Option(min=1.0, help="Seconds per configuration.")] = 60.0,
) -> None:
    """Print a TrialRun for a pod template (apply it with kubectl; the node's agent runs it)."""
    import yaml

    from corral.agent.trial_controller import pod_template_from
    from corral.agent.trials import parse_config

    try:
        try:
            document = yaml.safe_load(template.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{template}: cannot read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{template}: not valid YAML ({exc})") from None
        pod = pod_template_from(document, str(template))
        configs = [parse_config(text) for text in config]
        if not configs:
            raise ConfigError("give at least one --config")
    except CorralError as exc:
        _fail(str(exc))
    entries: list[dict[str, Any]] = []
    for cfg in configs:
        entry: dict[str, Any] = {"gpus": cfg.gpus}
        if cfg.share != 1:
            entry["share"] = cfg.share
        if cfg.gpu_type:
            entry["gpuType"] = cfg.gpu_type
        entries.append(entry)
    trial = {"apiVersion": "corral.dev/v1alpha1", "kind": "TrialRun",
             "metadata": {"name": name or _dns_name(job), "namespace": namespace},
             "spec": {"job": job, "nodeName": node, "seconds": seconds,
                      "configurations": entries, "template": pod}}
    typer.echo(yaml.safe_dump(trial, sort_keys=False), nl=False)


@trial_app.command("list")
def list_trials(
    job: Annotated[str | None, typer.Option(help="Only this job's.", show_default=False)] = None,
    db: DbOption = DEFAULT_URL,
    output: OutputOption = Output.TABLE,
) -> None:
    """The stored trial results."""
    from corral.cli.history import existing_store

    try:
        with existing_store(db) as store:
            rows = store.trials(job)
    except CorralError as exc:
        _fail(str(exc))
    from rich.table import Table

    table = Table(title="Trial runs")
    for column in ("job", "GPU type", "GPUs", "share", "throughput", "unit", "source"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["job_key"], row["gpu_type"], str(row["gpus"]), f"{row['share']:g}",
                      f"{row['throughput']:.4g}", row["unit"], row["source"])
    emit(table, output, records=rows)


@trial_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="The throughput table (CSV) to write.")],
    reference: Annotated[str, typer.Option(
        help="GPU type every job's speed is relative to (default: each job's slowest).")] = "",
    sim_config: Annotated[Path | None, typer.Option(
        help="Also write a sim config with [gpu_speed] per type (the simulator's table).",
        show_default=False)] = None,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Turn the stored trial results into the throughput table (job x GPU type -> speed)."""
    from datetime import UTC, datetime

    from corral.agent.trials import throughput_rows
    from corral.history import HistoryStore
    from corral.measured import ThroughputTable, format_throughput_table

    try:
        with HistoryStore(db) as store:
            rows = throughput_rows(store.trials(), reference)
        if not rows:
            raise ConfigError("no trial results to export" +
                              (f" on reference type {reference!r}" if reference else ""))
        table = ThroughputTable(rows)
    except CorralError as exc:
        _fail(str(exc))
    basis = f"per job, the speed on {reference} is 1.0" if reference \
        else "per job, the speed on its slowest measured type is 1.0"
    meta = {"source": "trial runs (corral trial export)",
            "date": datetime.now(UTC).date().isoformat(), "reference": basis}
    out.write_text(format_throughput_table(rows, meta), encoding="utf-8")
    message = f"wrote {out} ({len(table.classes)} jobs, {len(rows)} rows)"
    if sim_config is not None:
        speeds = table.type_speeds()
        lines = ["# GPU speeds from trial runs (corral trial export): per type, the geometric",
                 "# mean over the jobs measured on it of their relative speed.",
                 f'reference_gpu_type = "{reference}"' if reference else "", "",
                 "[gpu_speed]"]
        lines += [f'"{t}" = {s:.4g}' for t, s in speeds.items()]
        sim_config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        message += f" and {sim_config}"
    stdout().print(message, highlight=False, soft_wrap=True)


def _nvml(replay: Path | None, required: bool) -> Any:
    """NVML (or a replayed recording); None when not required and not available."""
    from corral.agent.fake_nvml import FakeNvml
    from corral.agent.nvml import PynvmlBackend

    if replay is not None:
        return FakeNvml.from_file(replay)
    try:
        return PynvmlBackend()
    except CorralError as exc:
        if required:
            raise ConfigError(f"cannot read the GPUs ({exc}): give --gpus and --gpu-type") \
                from None
        return None


def _sampler(nvml: Any) -> Any:
    def sample(indices: Any) -> float | None:
        values = [g.util_percent / 100 for g in nvml.read().gpus
                  if g.index in indices and not g.error]
        return sum(values) / len(values) if values else None
    return sample


def _indices(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--gpus {text!r}: expected GPU indices such as 0,1") from None


def _dns_name(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:50] or "trial"


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
