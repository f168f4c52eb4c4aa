"""Network: latency draws, loss, one-way and two-way partitions over fnmatch patterns, heal."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from rmasim.world.net import Network


def test_fast_path_draws_no_randomness(rng: np.random.Generator) -> None:
    """With no partition and no loss every message is delivered and no random number is drawn."""
    net = Network(0.01, rng)
    state = rng.bit_generator.state
    assert all(net.delivered("client/0", "edge/0", t) for t in range(100))
    assert rng.bit_generator.state == state
    assert net.latency("client/0", "edge/0") == 0.01


def test_latency_draws_from_the_dist(rng: np.random.Generator, exponential: type) -> None:
    """latency(src, dst) is one draw of the one-way latency dist per hop."""
    net = Network(exponential(0.02), rng)
    draws = [net.latency("a", "b") for _ in range(2000)]
    assert len(set(draws)) == 2000
    assert np.mean(draws) == pytest.approx(0.02, rel=0.1)


def test_two_way_partition_blocks_both_directions(rng: np.random.Generator) -> None:
    """A partition cuts side_a from side_b in both directions; other links are unaffected."""
    net = Network(0.01, rng)
    net.partition(["edge/*"], ["agent/gpu/*"])
    assert not net.delivered("edge/0", "agent/gpu/1", 0.0)
    assert not net.delivered("agent/gpu/1", "edge/3", 0.0)
    assert net.delivered("edge/0", "agent/cpu/0", 0.0)
    assert net.delivered("client/0", "edge/0", 0.0)


def test_one_way_partition_blocks_only_a_to_b(rng: np.random.Generator) -> None:
    """A one-way partition blocks only side_a -> side_b."""
    net = Network(0.01, rng)
    net.partition("agent/gpu/0", ["edge/*"], oneway=True)
    assert not net.delivered("agent/gpu/0", "edge/1", 0.0)
    assert net.delivered("edge/1", "agent/gpu/0", 0.0)


def test_heal_removes_one_partition(rng: np.random.Generator) -> None:
    """Partitions stack; heal(handle) removes only that one; healing twice is harmless."""
    net = Network(0.01, rng)
    p1 = net.partition(["edge/0"], ["agent/*"])
    p2 = net.partition(["client/*"], ["edge/0"])
    assert not net.delivered("edge/0", "agent/x/1", 0.0)
    net.heal(p1)
    net.heal(p1)
    assert net.delivered("edge/0", "agent/x/1", 0.0)
    assert not net.delivered("client/3", "edge/0", 0.0)
    assert net.partitions == (p2,)
    net.heal_all()
    assert net.delivered("client/3", "edge/0", 0.0)


def test_loss_drops_messages_with_its_probability(rng: np.random.Generator) -> None:
    """Each message is lost with probability `loss`."""
    assert not Network(0.01, rng, loss=1.0).delivered("a", "b", 0.0)
    net = Network(0.01, rng, loss=0.3)
    delivered = np.mean([net.delivered("a", "b", 0.0) for _ in range(20000)])
    assert delivered == pytest.approx(0.7, abs=0.02)


def test_invalid_arguments(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="loss"):
        Network(0.01, rng, loss=1.5)
    with pytest.raises(ValueError, match="partition side"):
        Network(0.01, rng).partition([], ["edge/*"])


def test_from_config(rng: np.random.Generator) -> None:
    """from_config reads NetworkConfig's latency, loss and connect_timeout."""
    net = Network.from_config(SimpleNamespace(latency=0.005, loss=0.0, connect_timeout=10.0), rng)
    assert (net.latency("a", "b"), net.loss, net.connect_timeout) == (0.005, 0.0, 10.0)
