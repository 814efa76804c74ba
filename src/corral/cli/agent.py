"""``corral node-agent``: the GPU node's agent, as the DaemonSet in deploy/agent/ runs it."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from corral.cli.console import print_error
from corral.model import CorralError

BAD_INPUT = 2


def node_agent(
    node: Annotated[str, typer.Option(envvar="NODE_NAME",
                                      help="This node's name (the DaemonSet sets NODE_NAME).")],
    plugin_dir: Annotated[Path, typer.Option(help="The kubelet's device-plugin directory.")] =
        Path("/var/lib/kubelet/device-plugins"),
    mps_root: Annotated[Path, typer.Option(help="MPS pipe, log and shm directories (a host "
                                                "path, the same inside the agent).")] =
        Path("/run/corral/mps"),
    mps_control: Annotated[str, typer.Option(help="The MPS control program.")] =
        "nvidia-cuda-mps-control",
    metrics_port: Annotated[int, typer.Option(help="Port of the Prometheus /metrics "
                                                   "endpoint.")] = 9400,
    metrics_addr: Annotated[str, typer.Option(help="Address it listens on.")] = "0.0.0.0",
    interval: Annotated[float, typer.Option(min=0.5, help="Seconds between readings.")] = 5.0,
    history_db: Annotated[str | None, typer.Option(
        help="Job-history database URL for ended pods' profiles; default: none written.",
        show_default=False)] = None,
    pod_resources_socket: Annotated[Path, typer.Option(
        help="The kubelet's PodResources socket (who holds which device, read at restart; "
             "the device-plugin checkpoint is the fallback).")] =
        Path("/var/lib/kubelet/pod-resources/kubelet.sock"),
    trials: Annotated[bool, typer.Option(
        "--trials/--no-trials", help="Run the TrialRuns that target this node (needs the "
                                     "TrialRun resource, deploy/agent/trialrun-crd.yaml).")] =
        False,
    state_dir: Annotated[Path, typer.Option(
        help="A host directory only the agent writes: the shares it booked at Allocate, read "
             "back after a restart.")] = Path("/var/lib/corral/agent"),
    reserve_node: Annotated[bool, typer.Option(
        "--reserve-node/--no-reserve-node",
        help="Taint this node corral.dev/reserved=corral:NoSchedule at start if it is not, "
             "so the stock kube-scheduler keeps its pods off (never removed).")] = False,
    replay: Annotated[Path | None, typer.Option(
        help="Replay a recording of NVML readings (fake NVML, see corral.agent.fake_nvml) "
             "instead of the GPUs' own.", show_default=False)] = None,
) -> None:
    """Run the node agent: fractional GPUs through MPS, device plugins, GPU metrics, profiles."""
    # Imported here: the agent's gRPC and NVML modules are not needed by any other command.
    from corral.agent.fake_nvml import FakeNvml
    from corral.agent.kube import InClusterKubeApi
    from corral.agent.node_agent import AgentConfig, NodeAgent
    from corral.agent.nvml import PynvmlBackend

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = AgentConfig(node=node, plugin_dir=plugin_dir, mps_root=mps_root,
                         mps_control=mps_control, metrics_addr=metrics_addr,
                         metrics_port=metrics_port, interval_s=interval, history_url=history_db,
                         pod_resources_socket=pod_resources_socket, trials=trials,
                         state_dir=state_dir, reserve_node=reserve_node)
    try:
        nvml = FakeNvml.from_file(replay) if replay else PynvmlBackend()
        agent = NodeAgent(config, nvml, InClusterKubeApi())
    except CorralError as exc:  # NVML missing, a bad recording, not in a cluster
        _fail(str(exc))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        agent.run(stop)
    except CorralError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
