"""The one place a seed becomes a random-number generator (after scikit-learn's `check_random_state`).

Every draw of every experiment flows from the user's `--seed` through these helpers, so the same seed gives
the same numbers whatever `--jobs` or executor runs the cells (docs/architecture.md, "Randomness").

- `make_rng(seed)`: the generator of a whole run, `numpy.random.default_rng(seed)`.
- `cell_rng(seed, *keys)`: the generator of one cell of a sweep, `default_rng(SeedSequence([seed, *keys]))`;
  independent of every other cell and of the order in which cells run. Keys are non-negative integers
  (a (p, k) pair, a network-kind code and a depth, ...).
- `spawn_rngs(seed, n, *keys)`: `n` independent generators for the streams of one run or cell (data, init,
  probes), from `SeedSequence([seed, *keys]).spawn(n)`.
"""

from __future__ import annotations

import numbers

import numpy as np

from resnet_cli.errors import ConfigError

SEED_MAX = 2**63 - 1


def check_seed(seed: object, name: str = "--seed") -> int:
    """A seed is a whole number in [0, 2^63 − 1]; anything else is a one-line ConfigError naming the flag."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"{name} {seed!r}: must be a whole number from 0 to {SEED_MAX}")
    if not 0 <= int(seed) <= SEED_MAX:
        raise ConfigError(f"{name} {seed}: must be a whole number from 0 to {SEED_MAX}")
    return int(seed)


def _entropy(seed: int, keys: tuple[int, ...]) -> int | list[int]:
    check_seed(seed)
    for key in keys:
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) or key < 0:
            raise ValueError(f"cell keys must be non-negative integers, got {key!r}")
    return [int(seed), *(int(k) for k in keys)] if keys else int(seed)


def make_rng(seed: int | np.random.Generator) -> np.random.Generator:
    """The generator of a run: `default_rng(seed)`; a Generator passes through unchanged."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_entropy(seed, ()))


def cell_rng(seed: int, *keys: int) -> np.random.Generator:
    """The generator of one sweep cell: `default_rng(SeedSequence([seed, *keys]))`."""
    return np.random.default_rng(np.random.SeedSequence(_entropy(seed, keys)))


def spawn_rngs(seed: int, n: int, *keys: int) -> list[np.random.Generator]:
    """`n` independent generators: `SeedSequence(seed or [seed, *keys]).spawn(n)`."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(_entropy(seed, keys)).spawn(n)]


def child_rngs(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """`n` independent children of a generator (`Generator.spawn`, with the numpy < 1.25 fallback)."""
    if hasattr(rng, "spawn"):
        return list(rng.spawn(n))
    return [np.random.default_rng(child) for child in rng.bit_generator._seed_seq.spawn(n)]
