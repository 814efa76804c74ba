"""``clusters.toml``: what it holds, and one error naming the field for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.model import ConfigError
from corral.multicluster.cluster_set import load_cluster_set


def test_reads_clusters_and_dispatch(clusters_toml: Path) -> None:
    loaded = load_cluster_set(clusters_toml)
    assert [c.name for c in loaded.clusters] == ["busy", "idle"]
    assert loaded.clusters[0].trace == clusters_toml.parent / "busy.csv"
    assert loaded.clusters[1].gpu_cost == 1.0
    assert loaded.dispatch.transfer_s() == pytest.approx(100.0)


@pytest.mark.parametrize(("text", "error"), [
    ('[[cluster]]\nname = "a"\ntrace = "t.csv"\nzone = "x"', r"cluster\[0\].zone: unknown key"),
    ('[[cluster]]\nname = "a b"\ntrace = "t.csv"', r"cluster\[0\].name: letters"),
    ('[[cluster]]\nname = "a"\ntrace = "t.csv"\ngpu_cost = nan', r"gpu_cost: must be a number"),
    ('[dispatch]\ndelay_s = -1\n[[cluster]]\nname = "a"\ntrace = "t"', r"dispatch.delay_s"),
    ('[dispatch]\ntransfer_gbit_s = 0\n[[cluster]]\nname = "a"\ntrace = "t"',
     r"transfer_gbit_s: must be a number from 0.001"),
    ('[dispatch]\npolicy = "random"\n[[cluster]]\nname = "a"\ntrace = "t"',
     r"dispatch.policy: unknown dispatch policy 'random'"),
    ('[[cluster]]\nname = "a"\ntrace = "t"\n[[cluster]]\nname = "a"\ntrace = "u"',
     r"names must be unique; repeated: a"),
    ('[dispatch]\n', r"cluster: give at least one"),
    ('cluster = 3', r"cluster: give at least one"),
    ('[[cluster]]\nname = "a"', r"cluster\[0\].trace: must not be empty"),
])
def test_mistakes_are_named(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "clusters.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_cluster_set(path)


def test_too_many_clusters(tmp_path: Path) -> None:
    path = tmp_path / "clusters.toml"
    path.write_text("".join(f'[[cluster]]\nname = "c{i}"\ntrace = "t"\n' for i in range(65)))
    with pytest.raises(ConfigError, match="at most 64 clusters, got 65"):
        load_cluster_set(path)
