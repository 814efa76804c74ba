"""A part used without its extra installed: one ``error:`` line naming the extra to install."""

from __future__ import annotations

import sys

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
