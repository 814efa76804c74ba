"""The throwaway control plane's parts that need no binaries: why it cannot start, and the CRDs
it installs. Starting it is exercised by test_k8s_real_cluster.py when KUBEBUILDER_ASSETS is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.k8s.testing.control_plane import (
    ASSETS_ENV,
    PODGROUP_CRD,
    ControlPlane,
    ControlPlaneError,
    crd_documents,
    missing_assets,
)

REPO = Path(__file__).resolve().parents[2]


def test_no_assets_folder_is_a_reason_and_refuses_to_start(tmp_path: Path) -> None:
    assert ASSETS_ENV in missing_assets({})
    (tmp_path / "etcd").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "etcd", 0o755)
    reason = missing_assets({ASSETS_ENV: str(tmp_path)})
    assert "kube-apiserver" in reason and "etcd" not in reason.split("no executable")[1]
    with pytest.raises(ControlPlaneError, match="kube-apiserver"):
        ControlPlane.start(tmp_path)


def test_crds_installed_are_the_queue_and_a_structural_podgroup() -> None:
    names = [c["metadata"]["name"] for c in crd_documents([REPO / "deploy/scheduler/crds.yaml"])]
    assert "queues.corral.dev" in names
    version = PODGROUP_CRD["spec"]["versions"][0]
    assert (PODGROUP_CRD["spec"]["group"], version["name"]) == ("scheduling.x-k8s.io",
                                                                "v1alpha1")
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["properties"]["minMember"]["type"] == "integer"
