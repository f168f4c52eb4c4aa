"""Named streams are keyed by name, not creation order; samplers are deterministic buffers."""

from __future__ import annotations

import numpy as np
import pytest

from rmasim.world.rng import Constant, Sampler, Streams, as_sampler, spawn_key


def draws(streams: Streams, name: str, n: int = 5) -> list[float]:
    return streams.generator(name).random(n).tolist()


def test_creation_order_does_not_change_draws() -> None:
    """Streams are keyed by component name: creating them in another order gives the same draws."""
    a = Streams(7)
    first = {name: draws(a, name) for name in ("kv", "net", "agent/gpu/0")}
    b = Streams(7)
    second = {name: draws(b, name) for name in ("agent/gpu/0", "net", "kv")}
    assert first == second


def test_adding_a_component_leaves_others_unchanged() -> None:
    """Adding a component does not change the other components' draws."""
    a = Streams(7)
    b = Streams(7)
    b.generator("new-component").random(100)
    assert draws(a, "kv") == draws(b, "kv")


def test_different_names_and_seeds_differ() -> None:
    """Different names give different streams; different root seeds give different streams."""
    s = Streams(7)
    assert draws(s, "kv") != draws(s, "net")
    assert draws(Streams(7), "kv") != draws(Streams(8), "kv")


def test_generator_is_cached_per_name() -> None:
    s = Streams(1)
    assert s.generator("kv") is s.generator("kv")


def test_spawn_key_is_stable() -> None:
    """The spawn key is a pure function of the name (blake2b), four uint32 words."""
    key = spawn_key("kv")
    assert key == spawn_key("kv")
    assert len(key) == 4 and all(0 <= w < 2**32 for w in key)
    assert spawn_key("kv") != spawn_key("kv2")


def test_negative_seed_rejected() -> None:
    with pytest.raises(ValueError, match="root_seed"):
        Streams(-1)


def test_sampler_is_deterministic_and_buffers(exponential: type) -> None:
    """Sampler(dist, rng) returns one float per call, the same sequence for the same generator state."""
    dist = exponential(2.0)
    s1 = Sampler(dist, np.random.default_rng(3), batch=16)
    s2 = Sampler(dist, np.random.default_rng(3), batch=16)
    seq1 = [s1() for _ in range(40)]
    assert seq1 == [s2() for _ in range(40)]
    assert all(isinstance(x, float) for x in seq1)
    direct = dist.sample(np.random.default_rng(3), 16).tolist()
    assert seq1[:16] == direct


def test_sampler_rejects_empty_batch(exponential: type) -> None:
    with pytest.raises(ValueError, match="batch"):
        Sampler(exponential(1.0), np.random.default_rng(0), batch=0)


def test_as_sampler_accepts_numbers_dists_and_callables(rng: np.random.Generator, exponential: type) -> None:
    """A number is a constant that consumes no randomness; a dist is buffered; a callable is used as is."""
    state = rng.bit_generator.state
    const = as_sampler(0.25, rng)
    assert [const(), const()] == [0.25, 0.25]
    assert rng.bit_generator.state == state
    assert isinstance(as_sampler(exponential(1.0), rng), Sampler)
    fn = lambda: 3.0  # noqa: E731
    assert as_sampler(fn, rng) is fn
    c = Constant(2)
    assert as_sampler(c, rng) is c
    assert c.sample(rng, 3).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError):
        as_sampler("30s", rng)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        as_sampler(True, rng)
