"""Named policies: plugin lists with weights and arguments, written as TOML data."""

from corral.policies.loader import builtin_policy_names, list_policies, load_policy, parse_policy

__all__ = ["builtin_policy_names", "list_policies", "load_policy", "parse_policy"]
