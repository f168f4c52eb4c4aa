"""The KV operations validate Workers KV's put options themselves (a bad one never reaches a runtime)."""

from __future__ import annotations

import pytest

from rmasim.system import ops


def test_put_options_default_to_none_and_keep_old_positional_use() -> None:
    put = ops.KvPut("k", "v", ops.STRONG)
    assert (put.store, put.expiration, put.expiration_ttl, put.metadata) == (ops.STRONG, None, None, None)
    assert ops.KvPut("k", "v") == ops.KvPut("k", "v", ops.KV, None, None, None)


def test_expiration_ttl_below_60_seconds_is_refused() -> None:
    """Workers: "Expiration TTL must be at least 60"."""
    with pytest.raises(ValueError, match="at least 60"):
        ops.KvPut("k", "v", expiration_ttl=59)
    assert ops.KvPut("k", "v", expiration_ttl=60).expiration_ttl == 60


def test_metadata_over_1024_bytes_is_refused() -> None:
    """Workers: "Metadata length exceeds limit of 1024" (compact JSON, UTF-8 bytes)."""
    with pytest.raises(ValueError, match="1024"):
        ops.KvPut("k", "v", metadata={"s": "é" * 510})  # {"s":"..."} = 8 + 1020 bytes
    assert ops.KvPut("k", "v", metadata={"s": "x" * 1016}).metadata is not None  # exactly 1024


def test_kv_failure_carries_workers_reason() -> None:
    failure = ops.KVFailure(400, "k", "Invalid expiration of 5.")
    assert (failure.status, failure.detail, str(failure)) == (
        400,
        "Invalid expiration of 5.",
        "KV 400 on 'k': Invalid expiration of 5.",
    )


def test_request_headers_are_read_case_insensitively() -> None:
    req = ops.Request("POST", "/x", None, (("X-Sig", "a"), ("x-sig", "b"), (ops.CONNECTING_IP, "2001:db8::1")))
    assert req.header("x-SIG") == "a"  # the first of several
    assert req.header("CF-Connecting-IP") == "2001:db8::1"
    assert req.header("missing") is None
    assert ops.Request("GET", "/").headers == ()
