"""Every numeric argument of every plugin refuses a string, a bool, a list, NaN and infinity
with one ConfigError naming the plugin and the argument (the policy loader adds the file)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from corral.model import ConfigError
from corral.plugins.registry import REGISTRY
from corral.policies import parse_policy

NUMERIC = ("int", "float")
SCALAR_BAD = ["x", True, [1], {"a": 1}, math.nan, math.inf, -math.inf]
LIST_BAD = ["x", True, 3.0, math.nan, [math.nan], [math.inf], ["x"], [True], [2.0, 1.0], []]


def numeric_fields() -> list[tuple[str, str, bool]]:
    """(plugin, argument, is a list) for every numeric field of every plugin's Args."""
    found = []
    for name, cls in sorted(REGISTRY.items()):
        args = getattr(cls, "Args", None)
        if args is None:
            continue
        for field in dataclasses.fields(args):
            kind = str(field.type)
            if any(word in kind for word in NUMERIC) and "Mapping" not in kind:
                found.append((name, field.name, kind.startswith("tuple")))
    return found


FIELDS = numeric_fields()


def test_the_registry_has_numeric_arguments() -> None:
    """The iteration below covers what it should (a rename would leave it empty)."""
    assert {("LasOrder", "starvation_factor", False), ("LasOrder", "thresholds", True),
            ("DrfOrder", "rekey_seconds", False), ("Locality", "max_extra_nodes", False),
            ("FgdScore", "max_types", False), ("OrderPreemption", "protect_after", False),
            ("HeterogeneityAware", "preference", False)} <= set(FIELDS)


@pytest.mark.parametrize(("plugin", "field", "is_list"), FIELDS,
                         ids=[f"{p}.{f}" for p, f, _ in FIELDS])
def test_wrong_values_are_config_errors(plugin: str, field: str, is_list: bool) -> None:
    args = REGISTRY[plugin].Args
    for value in LIST_BAD if is_list else SCALAR_BAD:
        with pytest.raises(ConfigError) as raised:
            args(**{field: value}).validate()
        assert field in str(raised.value), (value, str(raised.value))


@pytest.mark.parametrize(("plugin", "field", "is_list"), FIELDS,
                         ids=[f"{p}.{f}" for p, f, _ in FIELDS])
def test_policy_files_name_file_plugin_and_field(plugin: str, field: str, is_list: bool) -> None:
    cls = REGISTRY[plugin]
    point = cls.extension_points[0]
    plugins = {"queue_sort": '"FifoOrder"', "filter": '["ResourceFit"]',
               "permit": '["StrictGang"]'}
    if point == "queue_sort":
        plugins["queue_sort"] = f'"{plugin}"'
    else:
        listed = plugins.get(point, "[]")[1:-1]
        plugins[point] = f'[{listed + ", " if listed else ""}"{plugin}"]'
    text = 'name = "p"\n[plugins]\n' + "".join(f"{k} = {v}\n" for k, v in plugins.items()) \
        + f'[plugin_args.{plugin}]\n{field} = "x"\n'
    with pytest.raises(ConfigError) as raised:
        parse_policy(text, "mine.toml")
    message = str(raised.value)
    assert message.startswith(f"mine.toml: plugin_args.{plugin}: ")
    assert field in message and "\n" not in message


def test_fgd_workload_entries_are_bounded() -> None:
    args = REGISTRY["FgdScore"].Args
    for entry, field in [({"gpu_milli": 500, "weight": math.inf}, "weight"),
                         ({"gpu_milli": 500, "weight": math.nan}, "weight"),
                         ({"gpu_milli": 10**30}, "gpu_milli"),
                         ({"gpu_milli": 500, "cpu_milli": 10**30}, "cpu_milli"),
                         ({"gpu_milli": 500, "memory_mib": 2**70}, "memory_mib")]:
        with pytest.raises(ConfigError, match=f"FgdScore.workload\\[0\\].{field}"):
            args(workload=[entry]).validate()
    with pytest.raises(ConfigError, match=r"FgdScore\.workload must be a list"):
        args(workload=math.inf).validate()
