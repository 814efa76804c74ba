"""The interference table's format, look-ups with fallbacks, the shipped measured table, and
the rule-of-thumb check."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from corral.cli.main import app
from corral.measured import (
    PairSlowdown,
    check_rule,
    default_interference_table,
    format_interference_table,
    parse_interference_table,
    read_interference_table,
)
from corral.model import ConfigError

HEADER = "workload,partner,share,alone_throughput,paired_throughput,slowdown,workload_util," \
         "partner_util\n"
TABLE = ("# source: measured\n# gpu: Test GPU\n" + HEADER +
         "gemm,gemm,0.5,10,6,1.667,0.45,0.45\n"
         "gemm,copy,0.5,10,9,1.111,0.45,0.25\n"
         "copy,gemm,0.5,8,7,1.143,0.25,0.45\n"
         "copy,copy,0.5,8,7.5,1.067,0.25,0.25\n"
         "gemm,copy,0.25,5,4,1.250,0.30,0.15\n")


def test_a_table_round_trips_through_its_text_format():
    rows = [PairSlowdown("gemm", "copy", 0.5, 1.25, 10.0, 8.0, 0.4, None)]
    text = format_interference_table(rows, {"source": "measured", "gpu": "H200"})
    table = parse_interference_table(text, "t")
    assert table.rows == (PairSlowdown("gemm", "copy", 0.5, 1.25, 10.0, 8.0, 0.4, None),)
    assert table.meta == {"source": "measured", "gpu": "H200"} and table.measured


def test_look_ups_take_the_nearest_share_then_fall_back_to_means():
    table = parse_interference_table(TABLE, "t")
    assert table.slowdown("gemm", "copy", 0.5) == 1.111
    assert table.slowdown("gemm", "copy", 0.3) == 1.25  # nearest measured share: 0.25
    assert table.slowdown("gemm", "bert", 0.5) == pytest.approx((1.667 + 1.111 + 1.25) / 3)
    assert table.slowdown("bert", "copy", 0.5) == pytest.approx((1.111 + 1.067 + 1.25) / 3)
    assert table.slowdown(None, None, 0.5) == pytest.approx(table.mean_slowdown)
    assert table.utilisation("copy", 0.5) == 0.25
    assert table.utilisation("gemm", 0.25) == 0.30
    assert table.utilisation("bert", 0.5) is None


def test_the_shipped_table_is_a_measurement_of_every_reference_workload_pair():
    table = default_interference_table()
    assert table.measured and "H200" in table.meta["gpu"] and table.meta["driver"]
    assert table.workloads == ("conv", "copy", "gemm", "inference", "input-bound", "transformer")
    pairs = {(r.workload, r.partner) for r in table.rows}
    assert len(pairs) == 6 * 6 - 8  # all but copy and conv beside input-bound and inference
    for row in table.rows:  # each row is its own measurement: slowdown = alone / paired
        assert row.slowdown == pytest.approx(row.alone / row.paired, abs=1e-3)
        assert row.share == 0.5 and row.workload_util is not None
    # Two jobs on the same bottleneck (tensor cores, memory bandwidth) slow each other most.
    assert table.slowdown("gemm", "gemm", 0.5) > 1.25 and table.slowdown("copy", "copy", 0.5) > 1.5


@pytest.mark.parametrize(("text", "message"), [
    ("", "no header line"),
    ("# only: comments\n", "no header line"),
    ("workload,partner,share\n", "line 1: missing column(s) slowdown"),
    (HEADER.replace("partner_util", "colour"), "unknown column(s) colour"),
    (HEADER, "has no rows"),
    (HEADER + "gemm,copy,0.5,1,1,fast,,\n", "line 2: slowdown 'fast' is not a number"),
    (HEADER + "gemm,copy,1.5,1,1,1.2,,\n", "share must be a number > 0 and <= 1"),
    (HEADER + "gemm,copy,0.5,1,1,0,,\n", "slowdown must be a number > 0"),
    (HEADER + "gemm,copy,0.5,1,1,1.2,1.7,\n", "workload_util must be a number >= 0 and <= 1"),
    (HEADER + ",copy,0.5,1,1,1.2,,\n", "workload and partner must be named"),
    (HEADER + "gemm,copy,0.5,1,1,1.2,,,9\n", "more fields than columns"),
], ids=["empty", "comments", "missing", "unknown", "no-rows", "nan", "share", "zero", "util",
        "unnamed", "extra"])
def test_malformed_tables_name_the_file_line_and_problem(text, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        parse_interference_table(text, "bad.csv")
    assert str(info.value).startswith("bad.csv:")


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the interference table"):
        read_interference_table(tmp_path / "nope.csv")


def test_the_rule_holds_when_low_utilisation_pairs_stay_within_the_bound():
    table = parse_interference_table(TABLE, "t")
    result = check_rule(table, max_utilisation=0.7, max_slowdown=1.2)
    # Within 0.7: gemm+copy (0.70, both directions), copy+copy (0.5), gemm+copy at 0.25 (0.45).
    assert len(result.within) == 5 - 1 and result.holds is False  # 1.25 at share 0.25 breaks it
    assert [r.share for r in result.violations] == [0.25]
    assert check_rule(table, 0.7, 1.25).holds is True
    assert check_rule(table, 0.7, 1.25).beyond_ok == 0  # gemm+gemm (0.9) is forbidden and slow
    assert "HOLDS" in check_rule(table, 0.7, 1.25).summary()


NO_UTIL = "".join(row.rsplit(",", 2)[0] + ",,\n" for row in TABLE.splitlines()[3:])
"""TABLE's rows without their utilisation."""


def test_the_rule_cannot_be_checked_without_utilisation_or_without_light_pairs():
    unmeasured = check_rule(parse_interference_table(HEADER + NO_UTIL, "t"))
    assert unmeasured.holds is None and unmeasured.unknown == 5
    assert "undetermined" in unmeasured.summary()
    placeholder = check_rule(parse_interference_table("# source: guess\n" + TABLE, "t"))
    assert "placeholder" in placeholder.summary()
    # Every pair above the threshold: nothing says whether pairs below it stay within the bound.
    only_heavy = check_rule(parse_interference_table(TABLE, "t"), max_utilisation=0.4)
    assert only_heavy.holds is None and len(only_heavy.beyond) == 5
    assert "undetermined: no pair within the threshold" in only_heavy.summary()


def test_on_the_shipped_table_the_rule_holds_but_forbids_most_harmless_pairs():
    result = check_rule(default_interference_table())
    assert result.holds is True and result.worst_within is not None
    assert len(result.within) == 6  # the input-bound and inference pairs
    assert result.beyond_ok > len(result.beyond) / 2


@pytest.mark.parametrize(("threshold", "bound", "message"), [
    (0.0, 1.2, "max utilisation must be in (0, 2]"), (0.7, 0.9, "max slowdown must be >= 1")])
def test_bad_rule_arguments_are_refused(threshold, bound, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_rule(default_interference_table(), threshold, bound)


def test_check_rule_command_exit_status_says_the_verdict(tmp_path):
    path = tmp_path / "interference.csv"
    path.write_text(TABLE)
    runner = CliRunner()
    holds = runner.invoke(app, ["profile", "check-rule", str(path), "--max-slowdown", "1.25"])
    assert holds.exit_code == 0 and "HOLDS" in holds.stdout
    broken = runner.invoke(app, ["profile", "check-rule", str(path), "--max-slowdown", "1.2"])
    assert broken.exit_code == 1 and "DOES NOT HOLD" in broken.stdout
    shipped = runner.invoke(app, ["profile", "check-rule"])
    assert shipped.exit_code == 0 and "(measured, NVIDIA H200" in shipped.stdout
    path.write_text(HEADER + NO_UTIL)
    unknown = runner.invoke(app, ["profile", "check-rule", str(path)])
    assert unknown.exit_code == 3 and "undetermined" in unknown.stdout
    bad = runner.invoke(app, ["profile", "check-rule", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 2 and bad.stderr.count("error:") == 1
