"""Security: what the attacks of :mod:`rmasim.chaos.attack` achieved, and the requests the coordinator refused as
malformed.

Ground truth comes from two places. The attacker's own record: one ``attack`` trace
(:data:`~rmasim.scenario.faults.ATTACK_TRACE`) per call it made, with the coordinator's status and the small fields
of its answer. And what the observer sees of the system: the coordinator's own traces (each lease grant, as
``leadership_claimed`` with the fencing ``token``), the machines' events (the ids the coordinator issued to each
fleet machine: the *legitimate* ids), the agents' ``registered`` traces, the registry at each sample and at the
end, and the target of each client request's forward. A run without attacks measures 0 on every key.

- ``security.hijacked_identities``: legitimate ids the attacker took over: the coordinator answered one of its
  registrations 2xx with that id, or the last sample finds that id's record pointing at a tunnel URL the attacker
  registered (so the index routes the id's traffic to the attacker). Under ``identity: random`` a rogue
  registration gets an id of its own and hijacks none (it still takes traffic: ``security.attacker_forwards``);
- ``security.forged_accepted``: the attacker's forged heartbeats, unregisters and lease calls (``POST``) answered
  2xx and not refused in the answer (a lease answer ``ok: false``, an unregister ``unregistered: false``);
- ``security.ssrf_forwards``: client requests the proxy forwarded to a tunnel URL that ``ssrf_register``
  registered, or to any URL that is not ``https`` or whose host is a loopback, private, link-local or reserved
  address (the metadata endpoint 169.254.169.254 among them); ``security.attacker_forwards``: client requests
  forwarded to any tunnel URL the attacker registered. A request's *last* forward is the one the request log
  keeps (a request retried after a failed forward there counts under its retry's target);
- ``security.lease_stolen_time``: seconds during which the lease the coordinator stores names one of the names the
  attacker claimed it in: from each grant to such a name until the next grant to another (the coordinator traces
  every grant; a release is no grant, so a release of the attacker's lease is not seen);
- ``security.legit_registrations_lost``: legitimate registrations refused or evicted during the attack. Evicted:
  the most live workers at once, at a sample from the attacker's first call on, that their agent registered more
  than :data:`GRACE` seconds before and that the proxy cannot route to (no record, or absent from the index of a
  service they registered and serve), beyond those at the last sample before it. Refused: machine incarnations
  up during the attack whose first ``registered`` trace came more than :data:`REGISTER_WITHIN` seconds after the
  attack reached them (or never, while up that long);
- ``coordinator.bad_requests``: calls answered 400: the attacker's (from its record) and the clients' (from the
  request log). An agent's own calls are not recorded; a well-formed agent's are all accepted
  (``validate_requests``' promise, tested in tests/system/test_validation_requests.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..scenario.faults import ATTACK_TRACE
from .base import Checker, Observations, SampleView, SummaryKey, register_checker
from .loss import GRACE, index_members

__all__ = [
    "REGISTER_WITHIN",
    "AttackRecord",
    "BadRequests",
    "ForgedAccepted",
    "HijackedIdentities",
    "LeaseStolenTime",
    "LegitRegistrationsLost",
    "SsrfForwards",
    "attack_records",
    "internal_url",
    "unroutable_workers",
]

REGISTER_WITHIN = 5.0
"""Seconds within which an agent's registration completes when nothing refuses it (detection probes answer at
once; the register call is a round trip and a few store operations, well under a second)."""
_FORGING = ("forged_heartbeat", "forged_unregister", "lease_theft")
_REGISTER = "/api/worker/register"
_LEADER = "/api/leader"

AttackRecord = tuple[float, dict[str, Any]]
"""(time, fields) of one call of the attacker."""


def attack_records(obs: Observations) -> list[AttackRecord]:
    """The attacker's record: (time, fields) of each call it made, in time order."""
    return [(t, fields) for t, _node, event, fields in obs.traces if event == ATTACK_TRACE]


def _accepted(fields: dict[str, Any]) -> bool:
    """Answered 2xx and not refused in the answer (``ok: false``, ``unregistered: false``)."""
    status = fields.get("status")
    answer = fields.get("answer") or {}
    return (
        status is not None
        and 200 <= status < 300
        and answer.get("ok") is not False
        and (answer.get("unregistered") is not False)
    )


def _tunnels(records: Iterable[AttackRecord], ssrf_only: bool = False) -> set[str]:
    return {
        f["tunnel_url"] for _, f in records if isinstance(f.get("tunnel_url"), str) and (f.get("ssrf") or not ssrf_only)
    }


def _legit_ids(obs: Observations) -> set[str]:
    """The ids the coordinator issued to fleet machines (their ``register`` events)."""
    return {w for e in obs.events if e.kind == "register" for w in e.worker_ids}


def internal_url(url: str) -> bool:
    """Not ``https``, or a host that is a loopback, private, link-local, reserved or unspecified address."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    if parts.scheme != "https" or not parts.hostname:
        return True
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return parts.hostname == "localhost" or parts.hostname.endswith(".localhost")
    return not address.is_global


def _forwards_to(obs: Observations, wanted: Any) -> int:
    """Client requests whose last forward went to a target for which ``wanted(target)`` holds."""
    return sum(n for target, n in obs.requests.target_counts.items() if wanted(target))


@register_checker
class HijackedIdentities(Checker):
    name = "security.hijacked_identities"
    keys = (
        SummaryKey("security.hijacked_identities", "legitimate worker ids the attacker took over (a registration "
                   "answered with that id, or its record pointing at the attacker's tunnel at the end)", "count"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        records = attack_records(obs)
        legit = _legit_ids(obs)
        taken = {
            f["answer"].get("worker_id")
            for _, f in records
            if f["path"] == _REGISTER and _accepted(f) and f["answer"].get("worker_id") in legit
        }
        tunnels = _tunnels(records)
        if obs.final_snapshot is not None and tunnels:
            for worker_id, record in obs.final_snapshot.workers.items():
                if worker_id in legit and isinstance(record, dict) and record.get("tunnel_url") in tunnels:
                    taken.add(worker_id)
        return {"security.hijacked_identities": len(taken)}


@register_checker
class ForgedAccepted(Checker):
    name = "security.forged_accepted"
    keys = (
        SummaryKey("security.forged_accepted", "the attacker's forged heartbeats, unregisters and lease calls the "
                   "coordinator accepted (2xx, not refused in the answer)", "count"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        forged = [
            f for _, f in attack_records(obs) if f["action"] in _FORGING and f["method"] == "POST" and _accepted(f)
        ]
        return {"security.forged_accepted": len(forged)}


@register_checker
class SsrfForwards(Checker):
    name = "security.ssrf_forwards"
    keys = (
        SummaryKey("security.ssrf_forwards", "client requests forwarded to an SSRF target: a URL ssrf_register "
                   "registered, or any non-https or internal address", "count"),
        SummaryKey("security.attacker_forwards", "client requests forwarded to a tunnel URL the attacker "
                   "registered", "count"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        records = attack_records(obs)
        ssrf, tunnels = _tunnels(records, ssrf_only=True), _tunnels(records)
        return {
            "security.ssrf_forwards": _forwards_to(obs, lambda t: t in ssrf or ("://" in t and internal_url(t))),
            "security.attacker_forwards": _forwards_to(obs, tunnels.__contains__) if tunnels else 0,
        }


@register_checker
class LeaseStolenTime(Checker):
    name = "security.lease_stolen_time"
    keys = (
        SummaryKey("security.lease_stolen_time", "seconds the stored lease named a name the attacker claimed it "
                   "in", "s"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        names = {
            f["name"] for _, f in attack_records(obs) if f["action"] == "lease_theft" and f["path"] == _LEADER
            and f["method"] == "POST" and isinstance(f.get("name"), str) and f.get("name")
        }  # fmt: skip
        if not names:
            return {"security.lease_stolen_time": 0.0}
        grants = [(t, f.get("worker_id")) for t, _n, event, f in obs.traces
                  if event == "leadership_claimed" and "token" in f]  # fmt: skip
        stolen, since = 0.0, None
        for t, holder in grants:
            if holder in names and since is None:
                since = t
            elif holder not in names and since is not None:
                stolen += min(t, obs.duration) - since
                since = None
        if since is not None:
            stolen += max(0.0, obs.duration - since)
        return {"security.lease_stolen_time": stolen}


def unroutable_workers(view: SampleView) -> int:
    """Live workers, registered by their agent more than ``GRACE`` s ago, the proxy cannot route some service
    they registered and serve to: no record, or absent from that service's index."""
    snapshot, lost = view.snapshot, 0
    index = index_members(snapshot)
    for worker_id, services in view.serving.items():
        registered = view.registered.get(worker_id)
        if registered is None or view.t - registered[0] <= GRACE:
            continue
        if worker_id not in snapshot.workers or any(
            worker_id not in index.get(s, ()) for s in services & registered[1]
        ):
            lost += 1
    return lost


@register_checker
class LegitRegistrationsLost(Checker):
    name = "security.legit_registrations_lost"
    keys = (
        SummaryKey("security.legit_registrations_lost", "legitimate registrations evicted (live workers the proxy "
                   "can no longer route to) or refused (registered more than 5 s late) during the attack", "count"),
    )  # fmt: skip

    def sample(self, view: SampleView) -> dict[str, float]:
        return {"unroutable_workers": unroutable_workers(view)}

    def summarize(self, obs: Observations) -> dict[str, Any]:
        records = attack_records(obs)
        if not records:
            return {"security.legit_registrations_lost": 0}
        first, last = records[0][0], records[-1][0]
        before = [row["unroutable_workers"] for row in obs.samples if row["t"] < first]
        during = [row["unroutable_workers"] for row in obs.samples if row["t"] >= first]
        evicted = max(0, max(during, default=0) - (before[-1] if before else 0))
        return {"security.legit_registrations_lost": evicted + _refused(obs, first, last)}


def _refused(obs: Observations, first: float, last: float) -> int:
    """Incarnations up during [first, last] whose first ``registered`` came more than ``REGISTER_WITHIN`` after
    the later of their start and ``first`` (or never, while up that long)."""
    registered: dict[str, list[float]] = {}
    for t, node, event, _fields in obs.traces:
        if event == "registered" and node.startswith("agent/"):
            registered.setdefault(node[len("agent/") :], []).append(t)
    starts: dict[str, float] = {}
    lives: list[tuple[str, float, float]] = []
    for e in obs.events:
        if e.kind == "start":
            starts[e.machine] = e.t
        elif e.kind in ("crash", "stop") and e.machine in starts:
            lives.append((e.machine, starts.pop(e.machine), e.t))
    lives += [(machine, start, obs.duration) for machine, start in starts.items()]
    refused = 0
    for machine, start, end in lives:
        if start > last or end <= first:
            continue
        due = max(start, first) + REGISTER_WITHIN
        accepted = next((t for t in registered.get(machine, ()) if start <= t < end), None)
        if (accepted is None and end > due) or (accepted is not None and accepted > due and accepted > first):
            refused += 1
    return refused


@register_checker
class BadRequests(Checker):
    name = "coordinator.bad_requests"
    keys = (
        SummaryKey("coordinator.bad_requests", "calls answered 400 (malformed): the attacker's and the clients'",
                   "count", "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        attacker = sum(1 for _, f in attack_records(obs) if f.get("status") == 400)
        clients = obs.requests.bad_requests
        return {"coordinator.bad_requests": attacker + clients}
