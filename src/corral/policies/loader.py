"""Policies as data: a TOML file names plugins per extension point, with weights and arguments.

The format follows kube-scheduler's profiles (plugins per extension point, weights for scores,
typed arguments per plugin)::

    name = "fifo"
    description = "one line"
    blocking = true            # stop at the first job that does not fit
    tick_seconds = 60          # optional: ask for a cycle at least this often (1 to 86,400)
    oracle = false             # optional: may read true durations (reference policies only)

    [plugins]
    queue_sort = "FifoOrder"
    filter = ["ResourceFit", "GpuTypeFilter"]
    score = [{ name = "BestFit", weight = 1 }]
    permit = ["StrictGang"]
    post_filter = []
    resize = []                # optional: grow and shrink running elastic jobs

    [plugin_args.Locality]
    max_extra_nodes = 0

One instance is made per plugin name, shared by every point that lists it. Every mistake is a
:class:`~corral.model.ConfigError` naming the file and the field; plugin arguments of the wrong
type or out of range name the plugin and the argument too. Score weights are numbers in
(0, :data:`MAX_WEIGHT`].
"""

from __future__ import annotations

import dataclasses
import tomllib
from difflib import get_close_matches
from importlib import resources
from pathlib import Path
from typing import Any

from corral.core.framework import EXTENSION_POINTS, POINT_PROTOCOLS
from corral.core.profile import Profile
from corral.model import ConfigError
from corral.plugins.node_rules_filter import NodeRulesFilter
from corral.plugins.registry import REGISTRY

_TOP_KEYS = {"name", "description", "blocking", "tick_seconds", "oracle", "plugins",
             "plugin_args"}
_GANG_PLUGINS = {"StrictGang"}
MIN_TICK_SECONDS = 1.0
"""Traces record whole seconds; a finer tick only multiplies the cycles of a replay (a year of
trace at 1 ms would be 3e10 of them)."""
MAX_TICK_SECONDS = 86_400.0
"""A cycle less often than daily asks for nothing that events do not already bring."""
MAX_WEIGHT = 1000.0
"""Largest score weight: the built-in policies use 0.05 to 10."""


def builtin_policy_names() -> list[str]:
    """Names of the policies shipped with Corral, sorted."""
    return sorted(p.name.removesuffix(".toml") for p in _builtin_dir().iterdir()
                  if p.name.endswith(".toml"))


def list_policies() -> list[tuple[str, str]]:
    """``(name, one-line description)`` of every built-in policy."""
    return [(name, load_policy(name).description) for name in builtin_policy_names()]


def load_policy(name_or_path: str | Path) -> Profile:
    """A built-in policy by name, or a policy TOML file by path."""
    text_name = str(name_or_path)
    if text_name in builtin_policy_names():
        source = _builtin_dir().joinpath(f"{text_name}.toml")
        return parse_policy(source.read_text(encoding="utf-8"), f"policy {text_name}")
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read policy file ({exc.strerror})") from exc
        return parse_policy(text, str(path))
    raise ConfigError(f"unknown policy {text_name!r}; built-in policies: "
                      f"{', '.join(builtin_policy_names())} (or give a .toml file)")


def parse_policy(text: str, origin: str) -> Profile:
    """Build a :class:`Profile` from policy TOML *text*; *origin* names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML ({exc})") from exc
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) {sorted(unknown)}; known: {sorted(_TOP_KEYS)}")
    name = _typed(data, "name", str, origin, None)
    if not name:
        raise ConfigError(f"{origin}: 'name' is required")
    plugins = _typed(data, "plugins", dict, origin, None)
    if plugins is None:
        raise ConfigError(f"{origin}: a [plugins] table is required")
    bad_points = set(plugins) - set(EXTENSION_POINTS)
    if bad_points:
        raise ConfigError(f"{origin}: unknown extension point(s) {sorted(bad_points)}; "
                          f"known: {list(EXTENSION_POINTS)}")
    all_args = _typed(data, "plugin_args", dict, origin, {})
    instances: dict[str, Any] = {}

    def instance(plugin_name: str, point: str) -> Any:
        cls = _registered(plugin_name, point, origin)
        if point not in cls.extension_points:
            raise ConfigError(f"{origin}: plugins.{point}: {plugin_name} does not implement "
                              f"{point} (it implements {', '.join(cls.extension_points)})")
        if plugin_name not in instances:
            instances[plugin_name] = _construct(cls, all_args.get(plugin_name), origin)
        plugin = instances[plugin_name]
        if not isinstance(plugin, POINT_PROTOCOLS[point]):
            raise ConfigError(f"{origin}: {plugin_name} lacks the methods of {point}")
        return plugin

    entries = {point: _entries(plugins.get(point, []), point, origin) for point in EXTENSION_POINTS}
    sorts = entries["queue_sort"]
    if len(sorts) != 1:
        raise ConfigError(f"{origin}: plugins.queue_sort must name exactly one plugin")
    if not entries["filter"]:
        raise ConfigError(f"{origin}: plugins.filter must name at least one plugin")
    if not _GANG_PLUGINS & {n for n, _ in entries["permit"]}:
        raise ConfigError(f"{origin}: plugins.permit must include a gang plugin "
                          f"({', '.join(sorted(_GANG_PLUGINS))})")
    for point, listed in entries.items():  # a misspelt plugin first, not its orphaned args
        for plugin_name, _ in listed:
            _registered(plugin_name, point, origin)
    listed_names = {n for point in entries.values() for n, _ in point}
    unused_args = set(all_args) - listed_names
    if unused_args:
        hints = [f"{n} (did you mean {close[0]}?)" if (close := get_close_matches(
            n, listed_names, n=1)) else n for n in sorted(unused_args)]
        raise ConfigError(f"{origin}: plugin_args for plugin(s) not in the policy: "
                          f"{', '.join(hints)}")
    oracle = _typed(data, "oracle", bool, origin, False)
    tick = _typed(data, "tick_seconds", (int, float), origin, None)
    if tick is not None and not MIN_TICK_SECONDS <= tick <= MAX_TICK_SECONDS:
        raise ConfigError(f"{origin}: tick_seconds must be a number of seconds in "
                          f"[{MIN_TICK_SECONDS:g}, {MAX_TICK_SECONDS:,.0f}], got {tick!r}")
    profile = Profile(
        name=name,
        description=_typed(data, "description", str, origin, ""),
        queue_sort=instance(sorts[0][0], "queue_sort"),
        admits=tuple(instance(n, "admit") for n, _ in entries["admit"]),
        filters=_with_node_rules(tuple(instance(n, "filter") for n, _ in entries["filter"])),
        scores=tuple((instance(n, "score"), w) for n, w in entries["score"]),
        permits=tuple(instance(n, "permit") for n, _ in entries["permit"]),
        post_filters=tuple(instance(n, "post_filter") for n, _ in entries["post_filter"]),
        resizers=tuple(instance(n, "resize") for n, _ in entries["resize"]),
        blocking=_typed(data, "blocking", bool, origin, True),
        tick_seconds=float(tick) if tick is not None else None,
        oracle=oracle,
    )
    needs_oracle = sorted({name for name, plugin in instances.items()
                           if getattr(plugin, "needs_oracle", False)})
    if needs_oracle and not oracle:
        raise ConfigError(f"{origin}: {', '.join(needs_oracle)} reads true job durations; "
                          "declare the policy with oracle = true (and say oracle in its name)")
    return profile


def _with_node_rules(filters: tuple[Any, ...]) -> tuple[Any, ...]:
    """*filters* plus :class:`NodeRulesFilter` unless the policy lists it: a job's node rules
    are honoured in every policy (kube-scheduler enables NodeAffinity and TaintToleration in
    every profile), so a policy written without them cannot put a job where it must not go."""
    if any(isinstance(f, NodeRulesFilter) for f in filters):
        return filters
    return (*filters, NodeRulesFilter())


def _registered(plugin_name: str, point: str, origin: str) -> type:
    """The plugin class named *plugin_name*, or an error naming the point and the known ones."""
    cls = REGISTRY.get(plugin_name)
    if cls is None:
        raise ConfigError(f"{origin}: plugins.{point}: unknown plugin {plugin_name!r}; "
                          f"known: {sorted(REGISTRY)}")
    return cls


def _entries(raw: Any, point: str, origin: str) -> list[tuple[str, float]]:
    """Normalise ``"Name"`` / ``["A", {name = "B", weight = 2}]`` to (name, weight) pairs."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, 1.0))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            extra = set(item) - {"name", "weight"}
            weight = item.get("weight", 1)
            if extra or isinstance(weight, bool) or not isinstance(weight, int | float) \
                    or not 0 < weight <= MAX_WEIGHT:
                raise ConfigError(f"{origin}: plugins.{point}: entry {item!r} must be "
                                  f"{{name = \"...\", weight = <number in (0, {MAX_WEIGHT:g}]>}}")
            out.append((item["name"], float(weight)))
        else:
            raise ConfigError(f"{origin}: plugins.{point}: {item!r} is not a plugin name "
                              "or {name, weight} table")
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{origin}: plugins.{point} lists a plugin twice")
    return out


def _construct(cls: type, raw_args: Any, origin: str) -> Any:
    args_type = getattr(cls, "Args", None)
    if args_type is None:
        if raw_args:
            raise ConfigError(f"{origin}: plugin_args.{cls.name}: this plugin takes no arguments")
        return cls()
    if raw_args is not None and not isinstance(raw_args, dict):
        raise ConfigError(f"{origin}: plugin_args.{cls.name} must be a table")
    known = {f.name for f in dataclasses.fields(args_type)}
    unknown = set(raw_args or {}) - known
    if unknown:
        raise ConfigError(f"{origin}: plugin_args.{cls.name}: unknown argument(s) "
                          f"{sorted(unknown)}; known: {sorted(known)}")
    try:
        args = args_type(**(raw_args or {}))
        args.validate()
    except ConfigError as exc:
        raise ConfigError(f"{origin}: plugin_args.{cls.name}: {exc}") from exc
    except (TypeError, ValueError, OverflowError) as exc:
        # An out-of-tree plugin whose validate() lets a wrong type through.
        raise ConfigError(f"{origin}: plugin_args.{cls.name}: unusable arguments "
                          f"{raw_args!r} ({exc})") from None
    return cls(args)


def _typed(data: dict, key: str, kind: type | tuple[type, ...], origin: str, default: Any) -> Any:
    if key not in data:
        return default
    value = data[key]
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{origin}: {key} has the wrong type ({type(value).__name__})")
    if not isinstance(value, kind):
        raise ConfigError(f"{origin}: {key} has the wrong type ({type(value).__name__})")
    return value


def _builtin_dir() -> Any:
    return resources.files("corral.policies")
