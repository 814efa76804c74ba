"""``corral cache``: the training-data cache (simulate, mount, stats)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from corral.cli.console import print_error
from corral.cli.output import Output, OutputOption, emit, pick_output
from corral.datacache import POLICIES, open_cache, open_store
from corral.datacache.ledger import Ledger
from corral.datacache.report import ANNOTATION, STATS_FILE, cache_report, node_annotation
from corral.model import ConfigError, CorralError

BAD_INPUT = 2
"""Exit status for bad input, as for every other command."""

cache_app = typer.Typer(help="Training-data cache: simulate policies, mount, statistics.",
                        no_args_is_help=True)


@cache_app.command("simulate")
def simulate_command(
    dataset_gb: Annotated[float, typer.Option(help="Dataset size in GiB.")] = 160.0,
    cache_gb: Annotated[str, typer.Option(
        help="Comma-separated cache sizes in GiB.")] = "10,50,100,160,200",
    epochs: Annotated[int, typer.Option(min=1, help="Epochs, each a fresh shuffle.")] = 5,
    policies: Annotated[str, typer.Option(help="Comma-separated policies.")] =
    ",".join(POLICIES),
    file_size_dist: Annotated[str, typer.Option(
        help="fixed:SIZE, uniform:LO,HI or lognormal:MEDIAN,SIGMA.")] = "fixed:10M",
    max_files: Annotated[int, typer.Option(
        min=1, help="Simulate at most this many files (sizes scale up to keep the total).")]
    = 50_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed for sizes, shuffles and random "
                                                  "eviction.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table "
                                                             "(-o json).")]
    = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Per-epoch hit ratio of each policy and cache size, reading a dataset once per epoch in a
    fresh random order (the access pattern of data-parallel training)."""
    from corral.datacache.simulate import simulate  # numpy: for this command only
    from corral.datacache.sizes import SizeDist

    try:
        sizes = [float(x) for x in cache_gb.split(",") if x.strip()]
    except ValueError:
        _fail(f"--cache-gb must be comma-separated numbers, got {cache_gb!r}")
    try:
        runs = simulate(dataset_gb, sizes, epochs, SizeDist.parse(file_size_dist),
                        [p.strip() for p in policies.split(",") if p.strip()], seed, max_files)
    except CorralError as exc:
        _fail(str(exc))
    if pick_output(output, json_output) is Output.JSON:
        print(json.dumps([run.to_json() for run in runs]))
        return
    from rich.table import Table

    table = Table(title=f"Hit ratio per epoch (%), dataset {dataset_gb:g} GiB, "
                        f"files {file_size_dist}")
    for column in ("policy", "cache GiB", *(f"epoch {e + 1}" for e in range(epochs))):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for run in runs:
        table.add_row(run.policy, f"{run.cache_gb:g}",
                      *(f"{100 * r:.2f}" for r in run.hit_ratio_per_epoch))
    emit(table, output)


@cache_app.command("mount")
def mount_command(
    source: Annotated[str, typer.Argument(help="A directory or s3://bucket/prefix.")],
    mountpoint: Annotated[Path, typer.Argument(help="An empty directory to mount on.")],
    cache_dir: Annotated[Path | None, typer.Option(
        help="Cache directory (node-local SSD), shared by every mount and worker that names "
             "it; required for the disk tier.", show_default=False)] = None,
    size: Annotated[str, typer.Option(help="Cache size, e.g. 100G, 512M.")] = "10G",
    policy: Annotated[str, typer.Option(help="nr, lru, fifo or random.")] = "nr",
    tier: Annotated[str, typer.Option(help="disk (in --cache-dir) or memory.")] = "disk",
    dataset: Annotated[str | None, typer.Option(
        help="Dataset name for statistics; default: the source's last path part.",
        show_default=False)] = None,
    endpoint_url: Annotated[str | None, typer.Option(
        help="S3 endpoint (MinIO, Ceph); default: boto3's (AWS_ENDPOINT_URL).",
        show_default=False)] = None,
) -> None:
    """Mount SOURCE read-only at MOUNTPOINT, reading through the cache (until unmounted with
    `fusermount3 -u MOUNTPOINT` or Ctrl-C)."""
    from corral.datacache.mount import mount
    from corral.datacache.sizes import parse_size

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    name = dataset or source.rstrip("/").rsplit("/", 1)[-1] or "dataset"
    try:
        cache = open_cache(open_store(source, endpoint_url), parse_size(size), policy, name,
                           cache_dir, tier)
        mount(cache, mountpoint)
    except CorralError as exc:
        _fail(str(exc))


@cache_app.command("stats")
def stats_command(
    path: Annotated[Path, typer.Argument(help="A mount point or a cache directory.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the JSON document "
                                                             "(-o json).")]
    = False,
    output: OutputOption = Output.TABLE,
    annotation: Annotated[bool, typer.Option(
        help=f"Print only the node annotation value ({ANNOTATION}).")] = False,
) -> None:
    """Hit ratio and bytes per dataset and epoch, read live from a mount or a cache directory."""
    try:
        report = _read_report(path)
    except CorralError as exc:
        _fail(str(exc))
    if annotation:
        print(node_annotation(report))
        return
    if pick_output(output, json_output) is Output.JSON:
        print(json.dumps(report))
        return
    from rich.table import Table

    table = Table(title=f"Cache: policy {report['policy']}, {report['used']:,} of "
                        f"{report['capacity']:,} bytes used"
                        + (" (disk full: pass-through)" if report["pass_through"] else ""))
    for column in ("dataset", "epoch", "reads", "hit ratio", "byte hit ratio", "bytes read"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for row in report["epochs"]:
        table.add_row(row["dataset"], str(row["epoch"]), f"{row['hits'] + row['misses']:,}",
                      f"{row['hit_ratio']:.4f}", f"{row['byte_hit_ratio']:.4f}",
                      f"{row['hit_bytes'] + row['miss_bytes']:,}")
    emit(table, output)


def _read_report(path: Path) -> dict:
    """The statistics of the mount or cache directory at *path*."""
    live = path / STATS_FILE
    try:
        is_live = live.is_file()
    except OSError as exc:  # ENOTCONN: a mount whose daemon died
        raise ConfigError(f"{path}: {exc.strerror}; if its cache mount died, clear it with "
                          f"`fusermount3 -u {path}`") from None
    if is_live:
        try:
            return json.loads(live.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{live}: cannot read the statistics ({exc})") from None
    if not (path / "ledger.sqlite").is_file():
        raise ConfigError(f"{path} is neither a cache mount nor a cache directory")
    ledger = Ledger(path / "ledger.sqlite")
    try:
        return cache_report(ledger, ledger.policy)
    finally:
        ledger.close()


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
