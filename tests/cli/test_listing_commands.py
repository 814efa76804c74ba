"""``corral traces``, ``corral policies`` and ``corral --version`` list what Corral knows."""

from __future__ import annotations

from typer.testing import CliRunner

from corral import __version__
from corral.cli.main import app
from corral.clusters import list_presets
from corral.policies import builtin_policy_names
from corral.traces import list_formats

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_version() -> None:
    assert invoke("--version").strip() == f"corral {__version__}"


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "simulate" in result.output and "policies" in result.output


def test_policies_lists_every_builtin_with_its_description() -> None:
    text = invoke("policies")
    for name in builtin_policy_names():
        assert name in text
    assert "fifo" in text
    assert "gavel" in text and "heterogeneity-aware" in text


def test_traces_lists_formats_presets_and_spec_forms() -> None:
    text = invoke("traces")
    for fmt in list_formats():
        assert fmt.name in text
    assert "none published: defaults to auto" in text
    for name, _ in list_presets():
        assert name in text
    for form in ("40x8", "300x8:V100,100x4:T4", "auto[:LOAD]", "FILE.toml"):
        assert form in text
