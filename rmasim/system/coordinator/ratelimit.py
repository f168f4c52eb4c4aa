"""Rate limits on registration and heartbeats per source address (``rate_limits``): token buckets.

Each (route, ``cf-connecting-ip``) has a bucket of ``burst`` tokens refilled at ``rate`` per second; a call takes
one, and a call that finds none is answered ``429 {"error": "rate limited", "retry_after": s}`` with the header
``retry-after: s`` (whole seconds until a token is back, as RFC 9110 writes it). The buckets live in the isolate's
memory, as Cloudflare's Workers rate limiting binding counts per location: nothing is read or written in a store,
so a limit costs nothing, and a source spread over several isolates gets each isolate's allowance (an upper
bound, not an exact count). Time is the edge's monotonic clock. An isolate keeps at most :data:`MAX_SOURCES`
buckets: when full, the oldest is forgotten (a forgotten source starts full again), so a flood from many
addresses cannot grow memory without bound.

The limits (:data:`LIMITS`): a machine registers once per start (and again after a purge), so registration allows
a burst of 5 and one more a minute; a heartbeat comes every 10-30 s plus one at once when a probe changes a
service's status, so heartbeats allow a burst of 10 and one more every 3 s. A fleet's agents never meet them.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from ..ops import CONNECTING_IP, Now, Request, Response
from .isolate import Isolate

__all__ = ["LIMITS", "MAX_SOURCES", "Limit", "rate_limited"]


@dataclass(frozen=True, slots=True)
class Limit:
    """A token bucket's size and refill rate (tokens per second)."""

    burst: float
    rate: float


LIMITS: dict[str, Limit] = {
    "/api/worker/register": Limit(burst=5, rate=1 / 60),
    "/api/worker/heartbeat": Limit(burst=10, rate=1 / 3),
}
MAX_SOURCES = 4096
_MONOTONIC = Now(monotonic=True)


def _buckets() -> dict[tuple[str, str], list[float]]:
    return {}


def rate_limited(req: Request, isolate: Isolate) -> Generator[Any, Any, Response | None]:
    """The 429 when ``req``'s source has no token left for its route, else None (a token taken)."""
    limit = LIMITS.get(req.path)
    if limit is None or req.method != "POST":
        return None
    now = yield _MONOTONIC
    buckets = isolate.kept("rate_limits", _buckets)
    key = (req.path, req.header(CONNECTING_IP) or "")
    bucket = buckets.pop(key, None)  # popped and put back: the dict's order is the age order
    if bucket is None:
        if len(buckets) >= MAX_SOURCES:
            del buckets[next(iter(buckets))]
        bucket = [limit.burst, now]
    tokens = min(limit.burst, bucket[0] + (now - bucket[1]) * limit.rate)
    buckets[key] = bucket
    if tokens < 1.0:
        bucket[0], bucket[1] = tokens, now
        wait = max(1, math.ceil((1.0 - tokens) / limit.rate))
        return Response(429, {"error": "rate limited", "retry_after": wait}, (("retry-after", str(wait)),))
    bucket[0], bucket[1] = tokens - 1.0, now
    return None
