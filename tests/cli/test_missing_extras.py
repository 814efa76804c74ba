"""A part used without its extra installed: one ``error:`` line naming the extra to install."""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corral.extras
from corral.cli.main import app
from corral.extras import MissingExtra, require

runner = CliRunner()


def test_require_names_the_extra_and_what_is_missing() -> None:
    require("predict", "Duration prediction", "json")  # present: nothing happens
    with pytest.raises(MissingExtra, match=r"corral\[k8s\]") as caught:
        require("k8s", "The Kubernetes scheduler", "json", "no_such_module_here")
    assert "no_such_module_here not installed" in str(caught.value)


@pytest.mark.parametrize(("args", "package", "extra"), [
    (["predict", "evaluate", "--limit", "50"], "corral.predict", "predict"),
    (["simulate", "--policy", "predicted-sjf", "--limit", "20"], "corral.predict", "predict"),
    (["scheduler", "--history-db", "none"], "corral.k8s", "k8s"),
])
def test_a_command_without_its_extra_says_which(monkeypatch: pytest.MonkeyPatch,
                                                args: list[str], package: str,
                                                extra: str) -> None:
    # As on a plain install: the extra's modules are not found, the package not yet imported.
    for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(corral.extras, "find_spec", lambda name: None)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert f"pip install 'corral[{extra}]'" in result.stderr


def test_offline_commands_need_no_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in sys.modules if n.startswith(("corral.k8s", "corral.predict"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(corral.extras, "find_spec", lambda name: None)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    sample = str(files("corral.traces").joinpath("samples", "philly-pollux-sample.csv.gz"))
    assert runner.invoke(app, ["history", "import", sample, "--db", db]).exit_code == 0
    listed = runner.invoke(app, ["jobs", "--db", db, "-o", "csv"])
    assert listed.exit_code == 0, listed.output
    assert len(listed.stdout.splitlines()) == 2001
    assert runner.invoke(app, ["simulate", "--limit", "20"]).exit_code == 0
    assert not any(n.startswith(("corral.k8s", "corral.predict")) for n in sys.modules)
