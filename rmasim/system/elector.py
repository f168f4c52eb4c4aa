"""The agent's side of lease leadership (``leader: lease``): Kubernetes client-go's leader elector.

The lease lives in the coordinator's Durable Object (:mod:`rmasim.system.coordinator.leader`); the elector
decides when to take, renew or give it up, by its own *monotonic* clock only, so no clock offset or jump (the
agent's or an edge's) can make two agents lead at once:

- a **candidate** polls the lease every ``lease_retry`` (2 s). It takes the lease, by compare-and-set from the
  value it saw, when the lease is free (absent, released, or already its own), or when it has seen the *same*
  value for ``lease_duration`` (15 s): the holder has not renewed for that long. It dates an observation by the
  moment the answer *arrived*, which is after the value was written, so it never under-counts the holder's
  silence.
- a **leader** renews every ``lease_renew`` (10 s) after its last renewal was sent, retrying every
  ``lease_retry`` when a renewal fails. It believes it leads until ``lease_duration - LEASE_GUARD`` after it
  *sent* its last successful renewal (the write landed later, so a candidate waits longer), and steps down then
  if no renewal succeeded. Every call it makes while leading has a timeout that ends by then, so it notices in
  time.

With clock rates within ``LEASE_GUARD / lease_duration`` (3%) of each other, the holder's belief ends before any
candidate may take over: at most one live agent believes it leads at any true instant. Each grant carries a
fencing token one above the last, which the elector reports with its ``leadership`` trace.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from .ops import Now, Response, Trace

__all__ = ["LEASE_GUARD", "LeaseElector"]

#: Seconds the leader gives up before ``lease_duration`` has passed since its last renewal was sent.
LEASE_GUARD = 0.5

_MONOTONIC = Now(monotonic=True)

Call = Callable[..., Generator[Any, Any, Response | None]]
"""``call(method, path, body, timeout)`` -> the coordinator's response, or None when the call failed."""


class LeaseElector:
    """One agent's elector. ``step`` does the next lease action; the agent calls it when ``next_action`` is due
    and calls ``expire`` whenever it wakes, so a leader steps down at ``lease_end`` at the latest."""

    def __init__(self, worker_id: str, policy: Any, call: Call, http_timeout: float) -> None:
        self.worker_id = worker_id
        self.policy = policy
        self.call = call
        self.http_timeout = http_timeout
        self.leading = False
        self.token: int | None = None
        self.lease_end = 0.0
        """Monotonic time at which the leader's belief ends unless it renews."""
        self.next_action = 0.0
        self.observed: Any = None
        self.observed_at = 0.0

    def timeout(self, now: float) -> float:
        """A call's timeout: the agent's own, cut so that a leader's call ends by ``lease_end``."""
        if not self.leading:
            return self.http_timeout
        return max(1e-3, min(self.http_timeout, self.lease_end - now))

    def expire(self, now: float) -> Generator[Any, Any, None]:
        """Step down when the lease has run out without a renewal."""
        if self.leading and now >= self.lease_end:
            yield from self._step_down("lease expired")

    def step(self) -> Generator[Any, Any, None]:
        """Renew (leader) or poll and maybe take over (candidate)."""
        if self.leading:
            yield from self._renew()
        else:
            yield from self._campaign()

    def release(self) -> Generator[Any, Any, None]:
        """Give the lease up on a graceful stop, so a candidate need not wait out ``lease_duration``."""
        if not self.leading:
            return
        now = yield _MONOTONIC
        yield from self.call("POST", "/api/leader", self._body(release=True), self.timeout(now))
        yield from self._step_down("released")

    def rename(self, worker_id: str) -> Generator[Any, Any, None]:
        """The agent registered again under a new id: a lease held under the old one is given up."""
        if worker_id != self.worker_id:
            if self.leading:
                yield from self._step_down("new worker id")
            self.worker_id = worker_id

    # --- internals -----------------------------------------------------------------------------------

    def _body(self, release: bool = False) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "observed": self.observed, "release": release}

    def _observe(self, lease: Any, at: float) -> None:
        if lease != self.observed:
            self.observed, self.observed_at = lease, at

    def _renew(self) -> Generator[Any, Any, None]:
        sent = yield _MONOTONIC
        resp = yield from self.call("POST", "/api/leader", self._body(), self.timeout(sent))
        now = yield _MONOTONIC
        if resp is None or resp.status != 200:
            self.next_action = now + self.policy.lease_retry
            return
        lease = resp.body["lease"]
        if resp.body["ok"]:
            self.observed, self.observed_at = lease, now
            self.lease_end = sent + self.policy.lease_duration - LEASE_GUARD
            self.next_action = sent + self.policy.lease_renew
        elif (lease or {}).get("holder") == self.worker_id:
            # An earlier renewal landed but its answer was lost: renew again from what is stored.
            self.observed, self.observed_at = lease, now
            self.next_action = now
        else:
            self._observe(lease, now)
            yield from self._step_down("lease taken")
            self.next_action = now + self.policy.lease_retry

    def _campaign(self) -> Generator[Any, Any, None]:
        start = yield _MONOTONIC
        self.next_action = start + self.policy.lease_retry
        resp = yield from self.call("GET", "/api/leader", None, self.http_timeout)
        now = yield _MONOTONIC
        if resp is None or resp.status != 200:
            return
        lease = resp.body["lease"]
        self._observe(lease, now)
        holder = (lease or {}).get("holder")
        if holder not in (None, self.worker_id) and now - self.observed_at < self.policy.lease_duration:
            return
        sent = now
        resp = yield from self.call("POST", "/api/leader", self._body(), self.http_timeout)
        now = yield _MONOTONIC
        if resp is None or resp.status != 200:
            return
        lease = resp.body["lease"]
        if not resp.body["ok"]:
            self._observe(lease, now)
            return
        self.observed, self.observed_at = lease, now
        self.leading, self.token = True, lease["token"]
        self.lease_end = sent + self.policy.lease_duration - LEASE_GUARD
        self.next_action = sent + self.policy.lease_renew
        if now >= self.lease_end:  # the grant took longer than the lease: it is over already
            self.leading = False
            return
        yield Trace("leadership", {"worker_id": self.worker_id, "leader": True, "token": self.token})

    def _step_down(self, reason: str) -> Generator[Any, Any, None]:
        self.leading = False
        yield Trace("leadership", {"worker_id": self.worker_id, "leader": False, "reason": reason})
