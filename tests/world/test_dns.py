"""The world's DNS (rmasim/world/dns.py): records, literals, tunnel domains and a rebinding name."""

from __future__ import annotations

import ipaddress

from rmasim.scenario.models import DNSConfig
from rmasim.world import DNS, Rebinding
from rmasim.world.dns import ANYCAST


def test_answers_by_kind_and_a_rebinding_name_changes_after_its_first_lookups():
    dns = DNS({"evil.example": ("10.0.0.5",)}, {"flip.example": Rebinding(("203.0.113.7",), ("127.0.0.1",), 2)})
    assert dns.resolve("169.254.169.254") == (("169.254.169.254",), 0.001)
    assert dns.resolve("[::1]")[0] == ("::1",)
    assert dns.resolve("Evil.Example.")[0] == ("10.0.0.5",)
    assert [dns.resolve("flip.example")[0] for _ in range(3)] == [("203.0.113.7",), ("203.0.113.7",), ("127.0.0.1",)]
    assert dns.resolve("nowhere.example")[0] == ()
    assert dns.lookups == 7


def test_tunnel_hostnames_resolve_to_a_stable_cloudflare_anycast_address():
    dns = DNS()
    (a,), _ = dns.resolve("gpu-0.tunnel.invalid")
    assert ipaddress.ip_address(a) in ANYCAST and ipaddress.ip_address(a).is_global
    assert dns.resolve("gpu-0.tunnel.invalid")[0] == (a,) != dns.resolve("gpu-1.tunnel.invalid")[0]
    assert dns.resolve("x.cfargotunnel.com")[0] and dns.resolve("x.trycloudflare.com")[0]
    assert dns.resolve("cfargotunnel.com")[0] == ()  # the apex is nobody's tunnel


def test_from_the_scenario_section():
    cfg = DNSConfig.model_validate(
        {
            "records": {"A.example": ["10.0.0.1"]},
            "rebinding": {"r.tunnel.invalid": {"first": ["104.16.0.9"], "then": ["169.254.169.254"]}},
            "latency": "5ms",
        }
    )
    dns = DNS.from_config(cfg)
    assert dns.resolve("a.example") == (("10.0.0.1",), 0.005)
    assert [dns.resolve("r.tunnel.invalid")[0] for _ in range(2)] == [("104.16.0.9",), ("169.254.169.254",)]
