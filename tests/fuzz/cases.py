"""What a fuzz case is, the directory it runs in, and the hypothesis strategies that draw cases.

A :class:`Case` is a command line for ``rmasim`` plus the files it needs. Every case runs in a fresh copy of
the same small world, so a scenario ``name`` or an ``--out`` aimed at the wrong place hits a file we can check::

    ROOT/box/outside/precious.txt   a sibling of the working directory: nothing may ever reach it
    ROOT/box/work/                  the working directory (so reports/<name> lands here)
        scenarios/tiny.yaml         the default --suite of check: one 1-minute scenario
        reports/baseline.json       the default --baseline, valid for that suite
        victim.txt                  a plain file for --out to aim at
        keep/precious.txt           a directory that is not a report
        emptydir/                   an empty directory
        b/*.json                    baselines, one per way to be broken
        link -> ../outside          a symlink to a directory; flink -> victim.txt
    ROOT/tmp/                       TMPDIR of the command

``{root}`` in an argument or a file is replaced by ROOT. No generator ever names a path outside ROOT.

Scenario files are (a) structural mutations of the shipped scenarios, shortened to at most 2 minutes so a
valid run takes about a second (drop, duplicate, retype, rename, swap, absurd magnitudes, unicode digits,
wrong units, hostile names), and (b) the adversarial YAML of issue 11 (alias bombs, recursive aliases, tags
outside the YAML 1.2 core schema, huge files, NUL bytes, BOMs, bytes that are not UTF-8, deep nesting).
Command lines cover every verb with bad seeds, --out targets, --set and --grid items, baselines and options.
The loader-level fuzz of ``tests/scenario/test_fuzz.py`` (random text into ``load_scenario_text``) stays there;
these cases go through the command line, as a user's input does.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

__all__ = [
    "BASES",
    "TINY",
    "Case",
    "adversarial_yaml",
    "alias_bomb",
    "cli_cases",
    "mutated_scenario",
    "scenario_bytes",
    "shorten",
    "world_files",
]

REPO = Path(__file__).resolve().parents[2]
MAX_SECONDS = 120.0
"""Shortened scenarios last at most this long (simulated), so a valid run takes about a second."""


@dataclass(frozen=True)
class Case:
    """One ``rmasim`` command line and the files it needs, beyond the world every case gets."""

    argv: tuple[str, ...]
    files: tuple[tuple[str, bytes], ...] = ()
    writable: tuple[str, ...] = ()
    """Paths (relative to the work dir) the command may create or rewrite besides report directories."""
    hazard: bool = False
    """Could exhaust memory or hang if the product is wrong: run only in a subprocess with limits."""

    @property
    def verb(self) -> str:
        return self.argv[0] if self.argv else ""


# --- durations, and shortening the shipped scenarios ------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_TIMED = {
    "workload": ("start", "stop"),
    "faults": ("at", "down_for", "every", "within", "duration", "period", "lag"),
    "phases": ("start", "end"),
}


def _seconds(text: Any) -> float | None:
    match = _DURATION.match(str(text).strip())
    return float(match[1]) * _UNIT[match[2]] if match else None


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def _scale(mapping: Any, keys: tuple[str, ...], factor: float) -> None:
    for key in keys:
        if isinstance(mapping, dict) and key in mapping and (seconds := _seconds(mapping[key])) is not None:
            mapping[key] = _fmt(seconds * factor)


def shorten(text: str, *, name: str | None = None, limit: float = MAX_SECONDS) -> str:
    """The scenario with its duration capped at ``limit`` and its fault, phase, workload and fault-search window
    (``explore.start``/``end``) times scaled along."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    doc = yaml.load(text)
    total = _seconds(doc["duration"])
    assert total is not None, doc["duration"]
    factor = min(1.0, limit / total)
    doc["duration"] = _fmt(total * factor)
    _scale(doc, ("warmup",), factor)
    _scale(doc.get("explore"), ("start", "end"), factor)
    for section, keys in _TIMED.items():
        items = doc.get(section) or []
        for item in items.values() if isinstance(items, dict) else items:
            _scale(item, keys, factor)
    if name is not None:
        doc["name"] = name
    stream = io.StringIO()
    yaml.dump(doc, stream)
    return stream.getvalue()


BASES: dict[str, str] = {p.stem: shorten(p.read_text()) for p in sorted((REPO / "scenarios").glob("*.yaml"))}
"""The shipped scenarios, shortened: the seeds of every structural mutation."""
TINY = shorten((REPO / "scenarios" / "crash.yaml").read_text(), name="tiny", limit=60.0)
"""A 1-minute scenario: the suite of ``check`` and the quick valid run."""

_BASELINE = {"format": 1, "variant_by": "coordinator.preset", "seeds": [0], "entries": []}
_ENTRY = {"scenario": "tiny", "variant": "baseline", "key": "routing.success_rate", "mean": 1.0}
_ENTRY |= {"half_width": 0.0, "n": 1, "better": "higher"}


def _baseline(**entry: Any) -> bytes:
    return json.dumps(_BASELINE | {"entries": [_ENTRY | entry]}).encode()


BASELINES: dict[str, bytes] = {
    "b/nonutf8.json": b'{"format": 1, "variant_by": "\xff\xfe coordinator.preset"}',
    "b/nan.json": _baseline(mean=math.nan),
    "b/inf.json": _baseline(mean=math.inf),
    "b/ninf.json": _baseline(half_width=-math.inf),
    "b/halfnan.json": _baseline(half_width=math.nan),
    "b/empty.json": b"",
    "b/list.json": b"[]",
    "b/trunc.json": json.dumps(_BASELINE).encode()[:30],
    "b/bom.json": b"\xef\xbb\xbf" + json.dumps(_BASELINE).encode(),
    "b/bignum.json": _baseline(n=2**70),
    "b/nul.json": json.dumps(_BASELINE).encode()[:20] + b"\x00" + json.dumps(_BASELINE).encode()[20:],
}


def world_files() -> dict[str, bytes]:
    """Every file of the world, relative to the work dir (``../outside`` is the sibling); all are precious."""
    files = {
        "../outside/precious.txt": b"outside the working directory\n",
        "scenarios/tiny.yaml": TINY.encode(),
        "reports/baseline.json": json.dumps(_BASELINE).encode(),
        "victim.txt": b"a user's file\n",
        "keep/precious.txt": b"a user's directory\n",
    }
    return files | BASELINES


WORLD_DIRS = ("emptydir",)
WORLD_LINKS = {"link": "../outside", "flink": "victim.txt"}


# --- adversarial YAML -------------------------------------------------------------------------------------


def alias_bomb(levels: int = 7) -> bytes:
    """A billion-laughs document: ``levels`` anchors of 9 aliases each; 7 levels take 252 bytes."""
    names = "abcdefghijklmnop"[:levels]
    lines = [f"a: &a [{','.join('x' * 9)}]"]
    lines += [f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in itertools.pairwise(names)]
    return ("\n".join(lines) + f"\ndescription: *{names[-1]}\n").encode()


def _with(text: str, line: str) -> str:
    """A base scenario with ``line`` (a top-level ``key: value``) replacing that key or prepended."""
    key = line.split(":", 1)[0]
    kept = [s for s in text.splitlines() if not s.startswith(f"{key}:")]
    return line + "\n" + "\n".join(kept) + "\n"


def _nested(depth: int, open_: str, close: str) -> bytes:
    return f"name: deep\ndescription: {open_ * depth}{close * depth}\n".encode()


def _adversarial(base: str) -> dict[str, Callable[[], bytes]]:
    """Hostile documents, by label; each built when drawn (some are many megabytes)."""
    return {
        "alias bomb 253 bytes": lambda: alias_bomb(7),
        "alias bomb one more level": lambda: alias_bomb(8),
        "alias bomb inside a scenario": lambda: alias_bomb(7) + _with(base, "x: 1").encode(),
        "recursive alias list": lambda: _with(base, "description: &a [*a]").encode(),
        "recursive alias mapping": lambda: _with(base, "coordinator: &a {edges: *a}").encode(),
        "recursive alias at the top": lambda: b"&a [*a]\n",
        "recursive alias via --- key": lambda: b"&a {name: x, fleet: *a}\n",
        "!!omap fleet": lambda: _with(base, "fleet: !!omap [{gpu: {count: 1, services: {u: {}}}}]").encode(),
        "!!omap top": lambda: b"!!omap [{name: x}, {duration: 1m}]\n",
        "!!python/object/apply": lambda: _with(
            base, 'description: !!python/object/apply:os.system ["touch pwned"]'
        ).encode(),
        "!!python/object/apply top": lambda: b'!!python/object/apply:os.system ["touch pwned"]\n',
        "!!python/name": lambda: _with(base, "description: !!python/name:os.system").encode(),
        "!!binary name": lambda: _with(base, "name: !!binary aGVsbG8=").encode(),
        "!!set": lambda: _with(base, "description: !!set {a, b}").encode(),
        "!!timestamp": lambda: _with(base, "seed: !!timestamp 2001-12-14").encode(),
        "!!float count": lambda: _with(base, "seed: !!float 3").encode(),
        "custom tag": lambda: _with(base, "description: !custom x").encode(),
        "custom tag on fleet": lambda: _with(base, "fleet: !Ref gpu").encode(),
        "verbatim tag": lambda: _with(base, "seed: !<tag:yaml.org,2002:int> 5").encode(),
        "%TAG directive": lambda: b"%TAG ! tag:example.com,2000:\n---\n" + _with(base, "name: !x y").encode(),
        "%YAML 1.1": lambda: b"%YAML 1.1\n---\n" + base.encode(),
        "%YAML 9.9": lambda: b"%YAML 9.9\n---\n" + base.encode(),
        "two documents": lambda: (base + "---\n" + base).encode(),
        "huge comment padding": lambda: base.encode() + b"# padding\n" * 3_000_000,
        "huge scalar": lambda: _with(base, "description: " + "x" * 30_000_000).encode(),
        "huge list": lambda: _with(base, "description: [" + "1," * 2_000_000 + "1]").encode(),
        "long line of keys": lambda: b"{" + b",".join(b"k%d: 1" % i for i in range(200_000)) + b"}\n",
        "NUL bytes": lambda: b"\x00" * 64,
        "NUL in a scenario": lambda: base.encode().replace(b"\n", b"\n\x00", 1),
        "UTF-8 BOM": lambda: b"\xef\xbb\xbf" + base.encode(),
        "BOM twice": lambda: b"\xef\xbb\xbf\xef\xbb\xbf" + base.encode(),
        "UTF-16 with BOM": lambda: base.encode("utf-16"),
        "UTF-32": lambda: base.encode("utf-32"),
        "latin-1": lambda: _with(base, "description: café").encode("latin-1"),
        "invalid UTF-8 byte": lambda: base.encode().replace(b"\n", b"\xff\n", 1),
        "truncated UTF-8": lambda: base.encode() + b"\xe2\x82",
        "deep flow lists": lambda: _nested(100_000, "[", "]"),
        "deep flow mappings": lambda: _nested(50_000, "{a: ", "}"),
        "deep block nesting": lambda: ("name: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(3000))).encode(),
        "deep nesting 70": lambda: _nested(70, "[", "]"),
        "empty": lambda: b"",
        "only a BOM": lambda: b"\xef\xbb\xbf",
        "only spaces": lambda: b"   \n\t\n",
        "a bare ---": lambda: b"---\n",
        "null document": lambda: b"~\n",
        "CR line ends": lambda: base.replace("\n", "\r").encode(),
        "CRLF line ends": lambda: base.replace("\n", "\r\n").encode(),
        "control characters": lambda: _with(base, 'description: "\x07\x1b[31m"').encode(),
        "NEL and LS": lambda: base.replace("\n", "\u2028", 3).encode(),
        "complex key": lambda: _with(base, "? [a, b]\n: 1").encode(),
        "merge key": lambda: _with(base, "coordinator: {<<: {edges: 2}, preset: baseline}").encode(),
        "merge key of an alias bomb": lambda: alias_bomb(7) + _with(base, "coordinator: {<<: *g}").encode(),
    }


# --- structural mutations ---------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]

ABSURD: list[Any] = [
    10**6, 10**9, 2**31, 2**63 - 1, 2**63, 2**64, 2**200, -1, -(2**63), 0, 1e308, -1e308, 1e-308,
    math.nan, math.inf, -math.inf, 1.5, True, None,
    "1e6", "３", "٣", "５m", "１０s", "1e3s", "1_000s", "0x10s", "100y", "36500d", "876000h", "3153600000s",
    "0.000001ms", "1ms", "0s", "-5m", "+5m", "5 m", "5M", "5mins", "5 minutes", "nans", "infs", "inf m",
    "9" * 400 + "s", "1000000000/s", "1e9/s", "5/fortnight", "-1/s", "0/s", "٣/s", "5 per s", "1/0s",
    "", " ", "gpu/999999999", "gpu/-1", "*/*", "x" * 10_000,
]  # fmt: skip
"""Values put in place of any leaf: out-of-range and absurd magnitudes, unicode digits, wrong units."""

OTHER_TYPES: list[Any] = [None, True, 0, -1, 2.5, "", "x", "5m", "2/s", "gpu/0", [], {}, [1, 2], {"a": 1}, [[[]]]]
NAMES: list[str] = [
    "../../outside", "../outside", "..", ".", "", " ", "a/b", "{root}/box/outside", "{root}/box/work", "reports",
    "../scenarios", "scenarios", "x" * 300, "-rf", "名前", "a\nb", "a\x00b", "~", "$HOME", "victim.txt", "keep",
]  # fmt: skip
"""Scenario names: hostile ones (paths, dots, absolute names inside ROOT, NUL) and odd but harmless ones."""

COMBOS: list[dict[str, Any]] = [
    {"duration": "24h", "sample_every": "1ms"},
    {"duration": "36500d"},
    {"duration": "3153600000s"},
    {"fleet.{g}.count": 10**6},
    {"fleet.{g}.count": 10**6, "duration": "1s"},
    {"fleet.{g}.spares": 10**7},
    {"fleet.{g}.services.{s}.capacity": 9223372036854775808},
    {"fleet.{g}.services.{s}.capacity": 10**9},
    {"fleet.{g}.services.{s}.port": 10**6},
    {"fleet.{g}.speeds": [1.0] * 5000},
    {"coordinator.edges": 2**63},
    {"coordinator.edges": 10**6},
    {"workload": [{"service": "{s}", "rate": "1000000000/s"}]},
    {"workload": [{"service": "{s}", "rate": "1e9/s"}]},
    {"workload": [{"service": "{s}", "rate": "100000/s"}], "duration": "100d"},
    {"seed": 2**63},
    {"seed": 2**64},
    {"seed": -1},
    {"seed": 2**70},
    {"faults": [{"at": "10h", "action": "crash", "target": "{g}/0"}]},
    {"faults": [{"at": "10s", "action": "burst", "target": "{g}/*", "within": "1e9s"}]},
    {"faults": [{"at": "10s", "action": "crash_loop", "target": "{g}/0", "every": "1ms", "times": 10**9}]},
    {"faults": [{"at": "10s", "action": "crash_loop", "target": "{g}/0", "every": "1s", "times": 2**63}]},
    {"faults": [{"at": "10s", "action": "crash", "target": "{g}/0"}] * 20_000},
    {"warmup": "10m"},
    {"sample_every": "1ms"},
    {"sample_every": "0.000001ms"},
    {"kv.cache_ttl": "36500d"},
    {"network.latency": {"dist": "lognormal", "median": "1ms", "p99": "36500d"}},
    {"fleet.{g}.services.{s}.service_time": {"dist": "exponential", "mean": "0.000001ms"}},
    {"fleet.{g}.services.{s}.service_time": {"dist": "exponential", "mean": "36500d"}},
]  # fmt: skip
"""The absurd magnitudes of issue 11, as dotted paths ({g}: the first fleet group, {s}: its first service)."""

SNIPPETS = ["\t", ": ", "- ", "{", "]", "&a ", "*a ", "*zz", "!!omap ", "!!binary ", "!x ", "'", '"', "#", "? "]
SNIPPETS += ["%YAML 1.1\n", "---\n", "...\n", "|\n", ">\n", "\x00", "\ufeff", "\u00a0", "\\", "@", "`", ",,"]


def _paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _parent(doc: Any, path: Path_) -> Any:
    for segment in path[:-1]:
        doc = doc[segment]
    return doc


def _set_dotted(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = doc
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node, dict):
            return
        node = node.setdefault(part, {})
    if isinstance(node, dict):
        node[parts[-1]] = value


def _fill(value: Any, group: str, service: str) -> Any:
    """``{g}``/``{s}`` in the strings of ``value`` replaced by a group and a service name."""
    if isinstance(value, str):
        return value.replace("{g}", group).replace("{s}", service)
    if isinstance(value, list):
        return [_fill(v, group, service) for v in value]
    if isinstance(value, dict):
        return {_fill(k, group, service): _fill(v, group, service) for k, v in value.items()}
    return value


def _first(doc: dict[str, Any]) -> tuple[str, str]:
    fleet = doc.get("fleet") if isinstance(doc.get("fleet"), dict) else {}
    group = next(iter(fleet), "gpu")
    services = fleet.get(group, {}).get("services") if isinstance(fleet.get(group), dict) else None
    return str(group), str(next(iter(services), "upload") if isinstance(services, dict) else "upload")


@st.composite
def _mutate(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """One structural mutation of ``doc``, in place."""
    op = draw(st.sampled_from(["drop", "retype", "rename", "swap", "absurd", "absurd", "combo", "name"]))
    paths = list(_paths(doc))
    if op == "combo" or not paths:
        group, service = _first(doc)
        for dotted, value in draw(st.sampled_from(COMBOS)).items():
            _set_dotted(doc, _fill(dotted, group, service), _fill(copy.deepcopy(value), group, service))
        return doc
    if op == "name":
        doc["name"] = draw(st.sampled_from(NAMES))
        return doc
    path = draw(st.sampled_from(paths))
    parent = _parent(doc, path)
    if op == "drop":
        del parent[path[-1]]
    elif op == "retype":
        parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(OTHER_TYPES)))
    elif op == "absurd":
        parent[path[-1]] = draw(st.sampled_from(ABSURD))
    elif op == "rename" and isinstance(parent, dict):
        key = str(path[-1])
        new = draw(st.sampled_from([key + "x", key.upper(), key.replace("_", "-"), key[:-1], "", 1, None, "ｎａｍｅ"]))
        if new not in parent:
            parent[new] = parent.pop(path[-1])
    elif op == "swap":
        other = draw(st.sampled_from(paths))
        if other[: len(path)] != path and path[: len(other)] != other:
            other_parent = _parent(doc, other)
            parent[path[-1]], other_parent[other[-1]] = other_parent[other[-1]], parent[path[-1]]
    return doc


def _dump(doc: Any) -> str:
    stream = io.StringIO()
    yaml = YAML()
    yaml.width = 4096
    yaml.dump(doc, stream)
    return stream.getvalue()


@st.composite
def _text_mutation(draw: st.DrawFn, text: str) -> bytes:
    """Optionally one textual change: a duplicated line (a duplicate key), an inserted snippet, an encoding."""
    op = draw(st.sampled_from(["none", "none", "none", "duplicate", "insert", "encode"]))
    lines = text.splitlines(keepends=True)
    if op == "duplicate" and lines:
        at = draw(st.integers(0, len(lines) - 1))
        lines.insert(at, lines[at])
        text = "".join(lines)
    elif op == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
    elif op == "encode":
        encoding = draw(st.sampled_from(["utf-8-sig", "utf-16", "latin-1", "cp1252", "utf-8+ff", "utf-8+crlf"]))
        if encoding == "utf-8+ff":
            at = draw(st.integers(0, len(text)))
            return text[:at].encode() + b"\xff" + text[at:].encode()
        if encoding == "utf-8+crlf":
            return text.replace("\n", "\r\n").encode()
        return text.encode(encoding, errors="replace")
    return text.encode("utf-8", errors="surrogatepass")


@st.composite
def mutated_scenario(draw: st.DrawFn, *, textual: bool = True) -> bytes:
    """A shipped scenario (shortened) after 1-3 structural mutations and maybe one textual one."""
    safe = YAML(typ="safe", pure=True)
    doc = safe.load(draw(st.sampled_from(sorted(BASES.values()))))
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(_mutate(doc))
    text = _dump(doc)
    return draw(_text_mutation(text)) if textual else text.encode()


def adversarial_yaml() -> st.SearchStrategy[tuple[str, bytes]]:
    """(label, bytes) of one hostile document from issue 11."""
    base = BASES["crash"]
    table = _adversarial(base)
    return st.sampled_from(sorted(table)).map(lambda label: (label, table[label]()))


HAZARDS = {"alias", "huge", "deep", "long line", "merge key of"}


def _hazardous(label: str) -> bool:
    return any(word in label for word in HAZARDS)


@st.composite
def scenario_bytes(draw: st.DrawFn) -> tuple[bytes, bool]:
    """(a scenario file, whether it is a hazard): valid, mutated or adversarial."""
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "mutated", "adversarial", "adversarial"]))
    if kind == "valid":
        return draw(st.sampled_from(sorted(BASES.values()))).encode(), False
    if kind == "mutated":
        return draw(mutated_scenario()), False
    label, data = draw(adversarial_yaml())
    return data, _hazardous(label)


# --- command lines ----------------------------------------------------------------------------------------

OUT_TARGETS = [
    "fresh", "deep/a/b/c", "victim.txt", "victim.txt/sub", "/proc/x", "/proc/self/x", "", "keep", ".", "..",
    "../outside", "scenarios", "reports", "reports/baseline.json", "link", "flink", "emptydir",
    "{root}/box/work/abs", "x" * 300, "a\x01b",
]  # fmt: skip
"""--out values. Never /dev/null or anything outside ROOT: as root, a wrong writer deletes what it names."""

SEEDS = ["0", "7", "-1", str(2**63 - 1), str(2**63), str(2**64), str(2**70), "x", "", "1.5", "1e3", "٣", "0x10"]
SETS = [
    "duration=90s", "coordinator.edges=2", "seed=3", "fleet.{g}.count=1", "warmup=5s", "description=hello",
    "coordinator.preset=reference", "description=&a [*a]", "description=*a", "description=&a {b: *a}",
    "duration=", "=5", "noequals", "fleet..count=1", "faults.99.at=1m", ".=1", "duration.x=1", "name=../../outside",
    "name=.", "name=..", "name={root}/box/outside", "name=", "name=a/b", "seed=-1", "seed=18446744073709551616",
    "duration=36500d", "duration=５m", "duration=1e3s", "duration=5", "fleet.{g}.count=1000000",
    "coordinator.edges=9223372036854775808", "workload.0.rate=1000000000/s", "sample_every=1ms",
    "description=!!python/object/apply:os.system [touch pwned]", "kv=!!binary aGk=", "kv=!!omap [{a: 1}]",
    "fleet.{g}.count=.nan", "fleet.{g}.count=.inf", "duration=.nan", "coordinator=[1, 2]", "fleet=",
    "fleet.{g}=null", "expect=[nope.key > 1]", "faults.0.at=10h", "x.y.z=1", "coordinator.preset=nope",
    "description=\x01", "description=" + "[" * 5000, "description=%YAML 1.1", "seed=!!float 1",
]  # fmt: skip
"""--set items ({g}: the first fleet group of the scenario)."""
GRIDS = [
    "coordinator.edges=1,2", "warmup=5s,10s", "coordinator.preset=baseline,reference", "warmup=60s,1m",
    "coordinator.edges=1,1", "coordinator.edges=1,01", "coordinator.edges=1,1.0", "warmup=1m,60000ms",
    "duration=", "duration=,", "=1,2", "nokey", ",", "coordinator.edges=1,,2", "fleet.{g}.count=1,x",
    "description=&a [*a],b", "duration=５m,1m", "coordinator.edges=9223372036854775808,1", "seed=-1,1",
    "name=../../outside,b", "name=.,..", "coordinator=1,2", "x.y=1,2",
]  # fmt: skip
"""--grid items; the first three are valid, the rest equivalent, empty or bad."""
KEYS = ["routing.success_rate", "nope.key", ",", "routing.success_rate,latency.mean", ""]
JOBS = ["1", "1", "1", "1", "0", "-1", "x", str(2**70)]
SUITES = ["scenarios", "missing", "victim.txt", "emptydir", "badsuite", "/proc", ""]
BASELINE_READ = ["reports/baseline.json", "b/missing.json", "b", "/proc/x", "victim.txt/sub", *BASELINES]
BASELINE_WRITE = ["b/new.json", "reports/baseline.json", "b", "/proc/x", "victim.txt/sub", "b/sub/new.json"]
SPECIAL_PATHS = ["/dev/zero", "missing.yaml", "keep", "", "victim.txt", "{root}/box/work/c.yaml"]
"""Scenario arguments that are not a scenario file: a device, nothing, a directory, a text file."""
JUNK = [["--bogus"], ["--bogus", "1"], ["extra"], ["-x"], ["--help"], ["--"], ["--seed"], ["--set"], ["-"]]


def _option(draw: st.DrawFn, name: str, value: str) -> list[str]:
    """``--name value`` or ``--name=value`` (an empty value is always written ``--name=``)."""
    return [f"{name}={value}"] if value == "" or draw(st.booleans()) else [name, value]


def _group(data: bytes) -> str:
    """The first fleet group of a scenario file, for --set and --grid paths ("gpu" when there is none)."""
    try:
        doc = YAML(typ="safe", pure=True).load(data.decode())
    except Exception:  # anything at all: the file is malformed on purpose
        return "gpu"
    return _first(doc)[0] if isinstance(doc, dict) else "gpu"


@st.composite
def _scenario_arg(draw: st.DrawFn, name: str = "case.yaml") -> tuple[str, list[tuple[str, bytes]], bool, str]:
    """(path as typed, files to write, hazard, its first fleet group) of a scenario argument."""
    kind = draw(st.sampled_from(["file", "file", "file", "file", "file", "tiny", "special"]))
    if kind == "tiny":
        return "scenarios/tiny.yaml", [], False, "gpu"
    if kind == "special":
        special = draw(st.sampled_from(SPECIAL_PATHS))
        files = [("c.yaml", TINY.encode())] if "c.yaml" in special else []
        return special, files, special == "/dev/zero", "gpu"
    data, hazard = draw(scenario_bytes())
    return name, [(name, data)], hazard, "gpu" if hazard else _group(data)


@st.composite
def _out(draw: st.DrawFn) -> list[str]:
    return _option(draw, "--out", draw(st.sampled_from(OUT_TARGETS))) if draw(st.booleans()) else []


@st.composite
def _junk(draw: st.DrawFn) -> list[str]:
    return draw(st.sampled_from(JUNK)) if draw(st.integers(0, 9)) == 0 else []


@st.composite
def run_case(draw: st.DrawFn) -> Case:
    """``rmasim run SCENARIO`` with maybe --seed, --out, --set items, -q and junk."""
    path, files, hazard, group = draw(_scenario_arg())
    argv = ["run", path]
    if draw(st.integers(0, 3)) == 0:
        argv += _option(draw, "--seed", draw(st.sampled_from(SEEDS)))
    argv += draw(_out())
    for item in draw(st.lists(st.sampled_from(SETS), max_size=3)):
        item = item.replace("{g}", group)
        argv += _option(draw, "--set", item)
    argv += ["-q"] if draw(st.booleans()) else []
    argv += draw(_junk())
    return Case(tuple(argv), tuple(files), hazard=hazard or any("1000000" in a for a in argv))


@st.composite
def validate_case(draw: st.DrawFn) -> Case:
    """``rmasim validate FILE...`` with one to three scenario files."""
    argv, files, hazard = ["validate"], [], False
    for index in range(draw(st.integers(1, 3))):
        path, more, risky, _ = draw(_scenario_arg(f"s{index}.yaml"))
        argv.append(path)
        files += more
        hazard |= risky
    return Case(tuple(argv + draw(_junk())), tuple(files), hazard=hazard)


@st.composite
def _grids(draw: st.DrawFn, group: str) -> list[str]:
    items = draw(st.lists(st.sampled_from(GRIDS), max_size=2))
    if items and draw(st.integers(0, 4)) == 0:
        items.append(items[0].split("=")[0] + "=3")  # the same key again
    argv: list[str] = []
    for item in items:
        argv += _option(draw, "--grid", item.replace("{g}", group))
    return argv


@st.composite
def sweep_case(draw: st.DrawFn) -> Case:
    """``rmasim sweep SCENARIO --grid ... --seeds N --jobs J --out DIR``."""
    path, files, hazard, group = draw(_scenario_arg())
    argv = ["sweep", path, *draw(_grids(group))]
    argv += _option(draw, "--seeds", draw(st.sampled_from(["1", "1", "2", "0", "-1", "x", str(2**70), str(10**9)])))
    argv += _option(draw, "--jobs", draw(st.sampled_from(JOBS)))
    argv += draw(_out()) + (["--resume"] if draw(st.integers(0, 4)) == 0 else []) + draw(_junk())
    return Case(tuple(argv), tuple(files), hazard=hazard)


@st.composite
def compare_case(draw: st.DrawFn) -> Case:
    """``rmasim compare SCENARIO --grid ... --seeds N --keys K --out DIR`` (always --seeds: 20 is slow)."""
    path, files, hazard, group = draw(_scenario_arg())
    argv = ["compare", path, *draw(_grids(group))]
    argv += _option(draw, "--seeds", draw(st.sampled_from(["2", "2", "1", "0", "x", str(2**70), str(10**9)])))
    argv += _option(draw, "--jobs", draw(st.sampled_from(JOBS)))
    if draw(st.integers(0, 2)) == 0:
        argv += _option(draw, "--keys", draw(st.sampled_from(KEYS)))
    argv += draw(_out()) + (["--markdown"] if draw(st.booleans()) else []) + draw(_junk())
    return Case(tuple(argv), tuple(files), hazard=hazard)


@st.composite
def check_case(draw: st.DrawFn) -> Case:
    """``rmasim check --suite S --baseline B --seeds N --out DIR [--update-baseline]``."""
    argv, files, hazard, writable = ["check"], [], False, []
    suite = draw(st.sampled_from([None, *SUITES]))
    if suite == "badsuite":
        data, hazard = draw(scenario_bytes())
        files.append(("badsuite/x.yaml", data))
    if suite is not None:
        argv += _option(draw, "--suite", suite)
    update = draw(st.integers(0, 3)) == 0
    baseline = draw(st.sampled_from([None, *(BASELINE_WRITE if update else BASELINE_READ)]))
    if baseline is not None:
        argv += _option(draw, "--baseline", baseline)
    if update:
        argv.append("--update-baseline")
        writable.append(baseline or "reports/baseline.json")
    argv += _option(draw, "--seeds", draw(st.sampled_from(["1", "1", "1", "0", "-1", "x", str(2**70), str(10**9)])))
    argv += _option(draw, "--jobs", draw(st.sampled_from(JOBS)))
    argv += draw(_out()) + draw(_junk())
    return Case(tuple(argv), tuple(files), tuple(writable), hazard=hazard)


MISC = [
    [], ["--help"], ["bogus"], ["presets"], ["presets", "x"], ["presets", "--bogus"], ["schema"], ["schema", "x"],
    ["schema", "--out", "x"], ["run"], ["run", "--help"], ["validate"], ["sweep"], ["compare"], ["check", "--bogus"],
    ["run", "--out"], ["run", "scenarios/tiny.yaml", "--seed"], ["--version"], ["-h"], ["RUN"], ["\x01"],
]  # fmt: skip


@st.composite
def misc_case(draw: st.DrawFn) -> Case:
    """presets, schema, help, unknown verbs and missing arguments."""
    return Case(tuple(draw(st.sampled_from(MISC))))


def cli_cases() -> st.SearchStrategy[Case]:
    """Any case: run and validate most often, then sweep, check, compare and the rest."""
    verbs = [run_case, run_case, run_case, validate_case, validate_case, validate_case, sweep_case, check_case]
    verbs += [check_case, compare_case, misc_case]
    return st.sampled_from(verbs).flatmap(lambda verb: verb())
