"""A fake kubelet for the device plugin tests: the real Registration service on ``kubelet.sock``,
and, for each plugin that registers, a client of its DevicePlugin service that follows
ListAndWatch and calls Allocate and GetPreferredAllocation as the kubelet does."""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path

import grpc

from corral.agent.deviceplugin import api_pb2, api_pb2_grpc


class FakeKubelet(api_pb2_grpc.RegistrationServicer):
    def __init__(self, plugin_dir: Path) -> None:
        self.dir = plugin_dir
        self.registered: dict[str, api_pb2.RegisterRequest] = {}
        self.devices: dict[str, dict[str, str]] = {}
        self._changed = threading.Condition()
        self._channels: dict[str, grpc.Channel] = {}
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        api_pb2_grpc.add_RegistrationServicer_to_server(self, self._server)
        self._server.add_insecure_port(f"unix://{plugin_dir / 'kubelet.sock'}")
        self._server.start()

    def Register(self, request: api_pb2.RegisterRequest,
                 context: grpc.ServicerContext) -> api_pb2.Empty:
        assert request.version == "v1beta1"
        old = self._channels.pop(request.resource_name, None)
        if old is not None:
            old.close()
        channel = grpc.insecure_channel(f"unix://{self.dir / request.endpoint}")
        self._channels[request.resource_name] = channel
        self.registered[request.resource_name] = request
        threading.Thread(target=self._watch, args=(request.resource_name, channel),
                         daemon=True).start()
        return api_pb2.Empty()

    def _watch(self, resource: str, channel: grpc.Channel) -> None:
        stub = api_pb2_grpc.DevicePluginStub(channel)
        stub.GetDevicePluginOptions(api_pb2.Empty(), timeout=5)
        try:
            for response in stub.ListAndWatch(api_pb2.Empty()):
                with self._changed:
                    self.devices[resource] = {d.ID: d.health for d in response.devices}
                    self._changed.notify_all()
        except grpc.RpcError:  # the plugin or this kubelet went away
            return

    def wait_devices(self, resource: str, until, timeout: float = 10.0) -> dict[str, str]:
        """The device list of *resource* once ``until(devices)`` holds."""
        with self._changed:
            assert self._changed.wait_for(
                lambda: resource in self.devices and until(self.devices[resource]), timeout), \
                f"{resource}: {self.devices.get(resource)}"
            return dict(self.devices[resource])

    def stub(self, resource: str) -> api_pb2_grpc.DevicePluginStub:
        return api_pb2_grpc.DevicePluginStub(self._channels[resource])

    def allocate(self, resource: str, ids: list[str]) -> api_pb2.ContainerAllocateResponse:
        request = api_pb2.AllocateRequest(
            container_requests=[api_pb2.ContainerAllocateRequest(devices_ids=ids)])
        return self.stub(resource).Allocate(request, timeout=10).container_responses[0]

    def preferred(self, resource: str, available: list[str], size: int) -> list[str]:
        request = api_pb2.PreferredAllocationRequest(container_requests=[
            api_pb2.ContainerPreferredAllocationRequest(available_deviceIDs=available,
                                                        allocation_size=size)])
        response = self.stub(resource).GetPreferredAllocation(request, timeout=10)
        return list(response.container_responses[0].deviceIDs)

    def stop(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._server.stop(grace=0).wait()
