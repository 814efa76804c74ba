"""Policies are data: built-ins load, and every mistake in a policy file is named."""

import pytest

from corral.model import ConfigError
from corral.plugins.locality import Locality
from corral.policies import builtin_policy_names, list_policies, load_policy, parse_policy

GOOD = """
name = "p"
[plugins]
queue_sort = "FifoOrder"
filter = ["ResourceFit"]
permit = ["StrictGang"]
"""


def test_builtin_policies_load():
    assert {"fifo", "fifo-spread", "greedy"} <= set(builtin_policy_names())
    assert all(desc for _, desc in list_policies())
    fifo = load_policy("fifo")
    assert fifo.blocking and [type(p).__name__ for p, _ in fifo.scores] == ["Locality", "BestFit"]
    locality = next(p for p in fifo.permits if isinstance(p, Locality))
    assert locality.args.max_extra_nodes == 0
    assert locality is fifo.scores[0][0]  # one instance per plugin


def test_policy_file_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    assert load_policy(path).name == "p"


@pytest.mark.parametrize("text, message", [
    ("name = ", "not valid TOML"),
    ("colour = 1\n" + GOOD, "unknown key"),
    (GOOD.replace('"FifoOrder"', '"Nope"'), "unknown plugin 'Nope'"),
    (GOOD.replace('filter = ["ResourceFit"]', 'filter = ["BestFit"]'), "does not implement filter"),
    (GOOD.replace('permit = ["StrictGang"]', "permit = []"), "gang plugin"),
    (GOOD + '[plugin_args.Locality]\nmax_extra_nodes = 1\n', "not in the policy"),
    (GOOD.replace('permit = ["StrictGang"]', 'permit = ["StrictGang", "Locality"]')
     + '[plugin_args.Locality]\nmax_extra_nodes = -1\n', "max_extra_nodes"),
    (GOOD.replace('permit = ["StrictGang"]', 'permit = ["StrictGang", "Locality"]')
     + '[plugin_args.Locality]\nfoo = 1\n', "unknown argument"),
    (GOOD + "tick_seconds = 0\n", "tick_seconds"),
    (GOOD.replace("[plugins]", "blocking = 1\n[plugins]"), "wrong type"),
    (GOOD.replace('filter = ["ResourceFit"]', 'filter = []'), "at least one"),
    (GOOD + 'score = [{ name = "BestFit", weight = -2 }]\n', "weight"),
    ('[plugins]\nqueue_sort = "FifoOrder"\n', "'name' is required"),
], ids=["syntax", "unknown-key", "unknown-plugin", "wrong-point", "no-gang", "stray-args",
        "bad-arg-value", "unknown-arg", "bad-tick", "wrong-type", "no-filter", "bad-weight",
        "no-name"])
def test_bad_policies_are_named(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_policy(text, "bad.toml")


def test_unknown_policy_name_lists_the_builtins():
    with pytest.raises(ConfigError, match="fifo-spread"):
        load_policy("no-such-policy")
