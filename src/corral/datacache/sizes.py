"""Byte sizes as people write them (``100G``, ``512KiB``, ``1.5TB``) and file-size distributions.

Sizes use powers of 1024 for both spellings (``G`` = ``GB`` = ``GiB``), as ``du -h`` and
``df -h`` print them: a cache size given on the command line then matches what the disk shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from corral.model import ConfigError

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in *text* (``100G``, ``64MiB``, ``4096``); a ConfigError names a bad size."""
    match = _SIZE.match(str(text))
    if not match:
        raise ConfigError(f"not a size: {text!r} (write e.g. 4096, 512K, 64MiB, 100G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def format_size(size: float) -> str:
    """*size* bytes in the largest unit that keeps the number >= 1 (``1.5 GiB``)."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = _UNITS[unit[0]]
        if abs(size) >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size:.0f} B"


@dataclass(frozen=True, slots=True)
class SizeDist:
    """A file-size distribution: ``fixed:SIZE``, ``uniform:LO,HI`` or ``lognormal:MEDIAN,SIGMA``.

    Images in training sets are roughly log-normal in size (16 KB - 5 MB with a median near
    110 KB for ImageNet); ``fixed`` makes hit ratios exact multiples of cache / dataset.
    """

    kind: str
    a: float
    b: float = 0.0

    @classmethod
    def parse(cls, text: str) -> SizeDist:
        """Read ``kind:args``; a ConfigError names what is wrong."""
        kind, _, args = text.partition(":")
        parts = [p for p in args.split(",") if p.strip()]
        try:
            if kind == "fixed" and len(parts) == 1:
                dist = cls("fixed", parse_size(parts[0]))
            elif kind == "uniform" and len(parts) == 2:
                dist = cls("uniform", parse_size(parts[0]), parse_size(parts[1]))
            elif kind == "lognormal" and len(parts) == 2:
                dist = cls("lognormal", parse_size(parts[0]), float(parts[1]))
            else:
                raise ConfigError("bad form")
        except (ConfigError, ValueError):
            raise ConfigError(f"bad --file-size-dist {text!r}: write fixed:SIZE, uniform:LO,HI "
                              "or lognormal:MEDIAN,SIGMA (e.g. lognormal:110K,1.0)") from None
        if dist.a <= 0 or (dist.kind == "uniform" and dist.b < dist.a) or dist.b < 0:
            raise ConfigError(f"bad --file-size-dist {text!r}: sizes must be > 0 and LO <= HI")
        return dist

    def sample(self, total: int, rng: np.random.Generator, max_files: int) -> np.ndarray:
        """File sizes (bytes, >= 1) adding up to about *total*, at most *max_files* of them.

        When *total* needs more files than *max_files*, every size is scaled up by the same
        factor: hit ratios depend on cache / dataset and on the shape of the distribution,
        not on the file count once there are thousands of files, and the simulation stays fast.
        """
        mean = {"fixed": self.a, "uniform": (self.a + self.b) / 2,
                "lognormal": self.a * float(np.exp(self.b ** 2 / 2))}[self.kind]
        count = max(1, round(total / mean))
        scale = 1.0
        if count > max_files:
            scale, count = count / max_files, max_files
        if self.kind == "fixed":
            sizes = np.full(count, self.a)
        elif self.kind == "uniform":
            sizes = rng.uniform(self.a, self.b, count)
        else:
            sizes = rng.lognormal(np.log(self.a), self.b, count)
        return np.maximum(1, np.round(sizes * scale)).astype(np.int64)
