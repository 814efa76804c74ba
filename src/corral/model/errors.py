"""Errors for bad input: every one names what was wrong, so callers can report it and go on."""

from __future__ import annotations


class CorralError(Exception):
    """Base of every error Corral raises on purpose (bad input or configuration)."""


class InvalidSpec(CorralError):
    """A job, node or queue description that cannot exist (negative GPUs, 1.5 GPUs per task...)."""


class ConfigError(CorralError):
    """A policy, cluster or queue configuration that is malformed or names something unknown."""
