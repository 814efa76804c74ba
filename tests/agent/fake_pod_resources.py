"""A fake kubelet PodResources server: the real v1 PodResourcesLister gRPC service on a unix
socket, answering List from a table the test sets."""

from __future__ import annotations

from concurrent import futures
from pathlib import Path

import grpc

from corral.agent.podresources import api_pb2, api_pb2_grpc

Holding = tuple[str, str, str, str, list[str]]
"""(namespace, pod, container, resource, device ids)."""


class FakePodResources(api_pb2_grpc.PodResourcesListerServicer):
    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.holdings: list[Holding] = []
        self.calls = 0
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        api_pb2_grpc.add_PodResourcesListerServicer_to_server(self, self._server)
        self._server.add_insecure_port(f"unix://{socket}")
        self._server.start()

    def List(self, request: api_pb2.ListPodResourcesRequest,
             context: grpc.ServicerContext) -> api_pb2.ListPodResourcesResponse:
        self.calls += 1
        pods: dict[tuple[str, str], api_pb2.PodResources] = {}
        for namespace, pod, container, resource, devices in self.holdings:
            entry = pods.setdefault((namespace, pod),
                                    api_pb2.PodResources(name=pod, namespace=namespace))
            entry.containers.append(api_pb2.ContainerResources(
                name=container, devices=[api_pb2.ContainerDevices(resource_name=resource,
                                                                  device_ids=devices)]))
        return api_pb2.ListPodResourcesResponse(pod_resources=list(pods.values()))

    def stop(self) -> None:
        self._server.stop(0).wait()
