"""How an agent proves who it is (``agent_auth``): a per-machine secret and an HMAC-SHA256 on every call.

The model, shared by the agent (which signs) and the coordinator (which checks):

- **Enrollment.** The first registration of a machine's stable id (``worker-{fingerprint}``) carries the fleet's
  bootstrap token (``authorization: Bearer <token>``, a secret of the deployment, like a kubeadm join token) and
  the secret the machine drew for itself (:data:`ENROLL_SECRET`, over TLS). The coordinator stores the secret under
  the id in the Durable Object (``credential:{id}``), once: an id that has a credential is never enrolled again,
  with or without the bootstrap token. The agent writes its secret to the machine's disk *before* it asks, so a
  registration whose answer is lost is simply asked again with the same secret.
- **Every call** (registration included) names the id (:data:`AGENT_ID`), a timestamp (:data:`TIMESTAMP`, the
  machine's clock, seconds with milliseconds) and :data:`SIGNATURE` = hex HMAC-SHA256(secret, :func:`message`): the
  method, the path, the timestamp and the SHA-256 of the body's canonical JSON. The coordinator refuses a
  timestamp more than the policy's ``signature_skew`` from the Durable Object's clock, and one not above the last
  it accepted from that id (replay), so the agent keeps its timestamps strictly increasing (on its disk too, across
  restarts) even when its clock steps back.
- **Restarts.** A restarted or crashed box keeps its disk, hence its secret and its id, and registers again signed
  with it, as a kubelet keeps its client certificate or a Consul agent its node id and token. A box whose disk is
  wiped has to be re-enrolled by an operator (its credential deleted): nothing in the protocol lets a holder of
  the bootstrap token take over an enrolled id. A fingerprint alone proves nothing: it is public (``sha256`` of a
  host name).

Pure computation (``hmac``, ``hashlib``, ``json``): it is sans-IO.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

__all__ = [
    "AGENT_ID",
    "AUTHORIZATION",
    "CREDENTIAL_PREFIX",
    "ENROLL_SECRET",
    "SIGNATURE",
    "TIMESTAMP",
    "bearer",
    "canonical_body",
    "message",
    "sign",
    "stamp",
]

AGENT_ID = "x-agent-id"
TIMESTAMP = "x-agent-timestamp"
SIGNATURE = "x-agent-signature"
ENROLL_SECRET = "x-agent-secret"
AUTHORIZATION = "authorization"
#: The Durable Object key prefix of the machines' credentials: ``credential:{worker id}``.
CREDENTIAL_PREFIX = "credential:"


def canonical_body(body: Any) -> str:
    """The body as it is signed: JSON with sorted keys and no spaces (empty for no body)."""
    if body is None:
        return ""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def message(method: str, path: str, body: Any, timestamp: str) -> str:
    """What is signed: ``METHOD\\npath\\ntimestamp\\nsha256(canonical body)``."""
    digest = hashlib.sha256(canonical_body(body).encode()).hexdigest()
    return f"{method}\n{path}\n{timestamp}\n{digest}"


def sign(secret: str, text: str) -> str:
    """Hex HMAC-SHA256 of ``text`` under ``secret``."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def stamp(seconds: float) -> str:
    """A timestamp as it is sent: seconds with three decimals."""
    return f"{seconds:.3f}"


def bearer(value: str | None) -> str | None:
    """The token of an ``authorization: Bearer <token>`` header (None for anything else)."""
    if value is None or not value.startswith("Bearer "):
        return None
    return value[len("Bearer ") :]
