"""A kubelet device plugin (API v1beta1) for one :class:`~corral.agent.resources.Resource`.

Serves the DevicePlugin gRPC service on a unix socket in the kubelet's device-plugin directory
and registers it with the kubelet's Registration service (``kubelet.sock`` there). The kubelet
removes every plugin socket when it restarts; :meth:`PluginServer.lost` tells the agent to
serve and register again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc

from corral.agent.allocations import NodeGpus
from corral.agent.deviceplugin import api_pb2, api_pb2_grpc
from corral.agent.resources import Resource
from corral.agent.shares import ShareRefused

API_VERSION = "v1beta1"
KUBELET_SOCKET = "kubelet.sock"
HEALTHY, UNHEALTHY = "Healthy", "Unhealthy"
WATCH_POLL_S = 1.0
"""How often a ListAndWatch stream checks that it should go on when nothing changes."""
REGISTER_TIMEOUT_S = 10.0

log = logging.getLogger(__name__)


class DevicePluginService(api_pb2_grpc.DevicePluginServicer):
    """The DevicePlugin service of one resource."""

    def __init__(self, resource: Resource, gpus: NodeGpus, stopping: threading.Event) -> None:
        self._resource = resource
        self._gpus = gpus
        self._stopping = stopping

    def GetDevicePluginOptions(self, request: api_pb2.Empty,
                               context: grpc.ServicerContext) -> api_pb2.DevicePluginOptions:
        return api_pb2.DevicePluginOptions(pre_start_required=False,
                                           get_preferred_allocation_available=True)

    def ListAndWatch(self, request: api_pb2.Empty,
                     context: grpc.ServicerContext) -> Iterator[api_pb2.ListAndWatchResponse]:
        """The device list now, then again after every change in the books (health, shares,
        claims), until the server stops or the kubelet hangs up."""
        seen = -1
        while not self._stopping.is_set() and context.is_active():
            version = self._gpus.wait_for_change(seen, WATCH_POLL_S, self._stopping)
            if version == seen:
                continue
            seen = version
            yield api_pb2.ListAndWatchResponse(devices=[
                api_pb2.Device(ID=d.id, health=HEALTHY if d.healthy else UNHEALTHY)
                for d in self._resource.devices()])

    def Allocate(self, request: api_pb2.AllocateRequest,
                 context: grpc.ServicerContext) -> api_pb2.AllocateResponse:
        responses = []
        for container in request.container_requests:
            try:
                grant = self._resource.allocate(list(container.devices_ids))
            except ShareRefused as exc:
                log.warning("%s: Allocate %s refused: %s", self._resource.name,
                            list(container.devices_ids), exc)
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
            responses.append(api_pb2.ContainerAllocateResponse(
                envs=grant.envs,
                mounts=[api_pb2.Mount(container_path=m.container_path, host_path=m.host_path,
                                      read_only=m.read_only) for m in grant.mounts]))
        return api_pb2.AllocateResponse(container_responses=responses)

    def GetPreferredAllocation(self, request: api_pb2.PreferredAllocationRequest,
                               context: grpc.ServicerContext
                               ) -> api_pb2.PreferredAllocationResponse:
        return api_pb2.PreferredAllocationResponse(container_responses=[
            api_pb2.ContainerPreferredAllocationResponse(deviceIDs=self._resource.preferred(
                list(c.available_deviceIDs), list(c.must_include_deviceIDs), c.allocation_size))
            for c in request.container_requests])

    def PreStartContainer(self, request: api_pb2.PreStartContainerRequest,
                          context: grpc.ServicerContext) -> api_pb2.PreStartContainerResponse:
        return api_pb2.PreStartContainerResponse()


class PluginServer:
    """Serves one resource on ``<plugin_dir>/corral-<resource>.sock`` and registers it."""

    def __init__(self, resource: Resource, gpus: NodeGpus, plugin_dir: Path) -> None:
        self.resource = resource
        self._gpus = gpus
        self._dir = plugin_dir
        self.socket = plugin_dir / socket_name(resource.name)
        self._server: grpc.Server | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        """Serve, then register with the kubelet (which then calls ListAndWatch)."""
        self.stop()
        self._stopping = threading.Event()
        self.socket.unlink(missing_ok=True)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8,
                                                        thread_name_prefix="device-plugin"))
        api_pb2_grpc.add_DevicePluginServicer_to_server(
            DevicePluginService(self.resource, self._gpus, self._stopping), server)
        server.add_insecure_port(f"unix://{self.socket}")
        server.start()
        self._server = server
        with grpc.insecure_channel(f"unix://{self._dir / KUBELET_SOCKET}") as channel:
            api_pb2_grpc.RegistrationStub(channel).Register(api_pb2.RegisterRequest(
                version=API_VERSION, endpoint=self.socket.name, resource_name=self.resource.name,
                options=api_pb2.DevicePluginOptions(get_preferred_allocation_available=True)),
                timeout=REGISTER_TIMEOUT_S)
        log.info("registered %s on %s", self.resource.name, self.socket)

    def lost(self) -> bool:
        """True once the kubelet has removed our socket (it restarted): serve and register
        again."""
        return self._server is not None and not self.socket.exists()

    def stop(self) -> None:
        self._stopping.set()
        self._gpus.wake()
        if self._server is not None:
            self._server.stop(grace=1).wait()
            self._server = None


def socket_name(resource: str) -> str:
    """``corral.dev/gpu-share`` -> ``corral-corral.dev-gpu-share.sock``."""
    return "corral-" + resource.replace("/", "-") + ".sock"
