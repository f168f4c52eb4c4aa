"""The loader's limits and the bounds of every magnitude: each refused at its line, at once, with its reason."""

import json
import time

import pytest

from rmasim.scenario import ScenarioError, load_scenario, load_scenario_text, scenario_json_schema
from rmasim.scenario.limits import (
    MAX_CAPACITY,
    MAX_EDGES,
    MAX_FAULTS,
    MAX_FILE_BYTES,
    MAX_MACHINES,
    MAX_SEED,
)

FLEET = "fleet: {gpu: {services: {upload: {}}}}\n"
HEAD = "name: x\nduration: 1m\n" + FLEET

# The classic "billion laughs" (342 bytes): 10**9 strings once expanded.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
BUDGET = "aliases repeat more than 10000 nodes"


def problems(text, source="s.yaml"):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, source=source)
    return [str(problem) for problem in info.value.problems]


def test_the_billion_laughs_is_refused_at_once_without_expanding():
    assert len(BILLION_LAUGHS) == 342
    start = time.perf_counter()
    found = problems(BILLION_LAUGHS)
    assert time.perf_counter() - start < 1.0
    # a: 10 nodes; b-d repeat 9 x (11, 91, 820); the first *d crosses the budget
    assert found == [f"s.yaml:5:8: {BUDGET} (this *d repeats 7381): write the data out instead of multiplying it"]


def test_one_more_level_is_refused_the_same_way():
    text = BILLION_LAUGHS + f"j: &j [{','.join(['*i'] * 9)}]\n"
    assert problems(text) == [
        f"s.yaml:5:8: {BUDGET} (this *d repeats 7381): write the data out instead of multiplying it"
    ]


def test_aliases_within_the_budget_are_fine():
    text = HEAD + "phases:\n  a: &w {start: 1s, end: 2s}\n  b: *w\n  c: {<<: *w, end: 3s}\n"
    assert [(p.start, p.end) for p in load_scenario_text(text).phases.values()] == [(1, 2), (1, 2), (1, 3)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &a [*a]\n", "s.yaml:1:8: alias *a is inside its own anchor &a: a recursive structure"),
        ("a: &m {b: [1, *m]}\n", "s.yaml:1:15: alias *m is inside its own anchor &m: a recursive structure"),
        ("a: *nowhere\n", "s.yaml:1:4: YAML syntax error: found undefined alias 'nowhere'"),
    ],
)
def test_recursive_and_undefined_aliases(text, problem):
    assert problems(text) == [problem]


PLAIN = "a scenario is plain YAML 1.2 (mappings, lists, strings, numbers, true/false, null)"


@pytest.mark.parametrize(
    ("value", "col", "tag"),
    [
        ("!!omap [{a: 1}]", 14, "!!omap"),
        ('!!python/object/apply:os.system ["echo hi"]', 14, "!!python/object/apply:os.system"),
        ("!!python/name:os.system", 14, "!!python/name:os.system"),
        ("!!set {a, b}", 14, "!!set"),
        ("!!binary aGVsbG8=", 14, "!!binary"),
        ("!!timestamp 2024-01-01", 14, "!!timestamp"),
        ("!duration 5m", 14, "!duration"),
        ("!<tag:example.com,2024:x> 1", 14, "tag:example.com,2024:x"),
        ("[1, !!float 2]", 18, "!!float"),  # core tags are fine: the error is the description's type, below
    ],
)
def test_only_core_tags(value, col, tag):
    found = problems(HEAD + f"description: {value}\n")
    if tag == "!!float":
        assert found == ["s.yaml:4:14: description: Input should be a valid string"]
    else:
        assert found == [f"s.yaml:4:{col}: tag {tag} is not allowed: {PLAIN}"]


def test_core_tags_and_dates_read_as_the_core_schema_does():
    scenario = load_scenario_text(HEAD + "description: !!str 2024-01-01\nseed: !!int 3\n")
    assert (scenario.description, scenario.seed) == ("2024-01-01", 3)
    assert load_scenario_text(HEAD + "description: 2024-01-01\n").description == "2024-01-01"


def test_a_number_too_long_to_read():
    assert problems(HEAD + "seed: " + "9" * 5000 + "\n") == ["s.yaml:4:7: a number of 5000 characters: at most 100"]


def test_nesting_is_refused_before_python_recursion_runs_out():
    assert problems("a: " + "[" * 500) == ["s.yaml:1:68: nesting deeper than 64 levels"]


def test_files_that_are_not_scenario_files(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "#" * MAX_FILE_BYTES)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"name: x\ndescription: caf\xe9\n")
    expected = {
        "/dev/zero": "/dev/zero:1:1: not a regular file (a device or a socket): give a scenario file",
        str(tmp_path): f"{tmp_path}:1:1: is a directory, not a scenario file",
        str(big): f"{big}:1:1: larger than 128 KiB (131072 bytes): not a scenario file",
        str(latin1): f"{latin1}:2:17: not UTF-8 text: byte 0xe9 cannot be decoded",
    }
    found = {}
    for path in expected:
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        found[path] = "\n".join(map(str, info.value.problems))
    assert found == expected


def test_text_over_the_size_cap():
    text = HEAD + "#" * MAX_FILE_BYTES
    assert problems(text) == [f"s.yaml:1:1: larger than 128 KiB ({len(text)} characters): not a scenario"]


LE = "Input should be less than or equal to"


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        (
            f"duration: 1m\nfleet: {{gpu: {{services: {{upload: {{capacity: {2**63}}}}}}}}}\n",
            f"3:45: fleet.gpu.services.upload.capacity: {LE} {MAX_CAPACITY}",
        ),
        (f"duration: 1m\ncoordinator: {{edges: {2**63}}}\n{FLEET}", f"3:22: coordinator.edges: {LE} {MAX_EDGES}"),
        ("duration: 1m\nfleet: {gpu: {count: 1e6, services: {upload: {}}}}\n", f"3:22: fleet.gpu.count: {LE} 10000"),
        (
            "duration: 1m\nfleet:\n  a: {count: 9000, services: {s: {}}}\n  b: {spares: 1001, services: {s: {}}}\n",
            "4:3: fleet: 10002 machines in all (count + spares over the groups); at most 10000",
        ),
        ("duration: 36500d\n" + FLEET, "2:11: duration: 36500d is longer than the longest run rmasim simulates, 30d"),
        (
            "duration: 1d\n" + FLEET + "workload: [{service: upload, rate: 1000000000/s}]\n",
            "4:36: workload.0.rate: about 8.64e+13 requests expected over 1d (rate x active time over the workload, "
            "plus traffic bursts and hot services); at most 50000000",
        ),
        (
            "duration: 24h\nsample_every: 1ms\n" + FLEET,
            "3:15: sample_every: 1ms over a duration of 1d is 86400000 samples; at most 100000 (sample_every >= 864ms)",
        ),
        (
            "duration: 30d\nsample_every: 1h\nfleet: {gpu: {count: 1000, services: {upload: {}}}}\n",
            "4:8: fleet: 1000 machines heartbeating every 30s for 30d is about 8.64e+07 heartbeats; at most 50000000",
        ),
        (f"duration: 1m\nseed: {2**63}\n" + FLEET, f"3:7: seed: {LE} {MAX_SEED}"),
        ("duration: 1m\nseed: -1\n" + FLEET, "3:7: seed: Input should be greater than or equal to 0"),
        (
            "duration: 1m\nfleet: {gpu: {speed: .inf, services: {upload: {}}}}\n",
            "3:22: fleet.gpu.speed: Input should be a finite number",
        ),
        ("duration: 1m\nkv: {caches_per_location: 65}\n" + FLEET, f"3:27: kv.caches_per_location: {LE} 64"),
        (
            "duration: 1m\nkv: {caches_per_location: 1e19}\n" + FLEET,
            "3:27: kv.caches_per_location: number too large for this field (`rmasim schema` gives each field's "
            "maximum)",
        ),
        (
            "duration: 1h\n" + FLEET + "faults: [{at: 1m, action: traffic_burst, service: upload, requests: 1e12}]\n",
            f"4:69: faults.0.requests: {LE} 1000000",
        ),
        (
            "duration: 1h\n" + FLEET + "faults: [{at: 1m, action: hot_service, service: upload, factor: 1e9, "
            "duration: 1m}]\n",
            f"4:65: faults.0.factor: {LE} 10000",
        ),
        (
            "duration: 1h\n" + FLEET + "workload: [{service: upload, rate: 10000/s}]\n"
            "faults: [{at: 1m, action: hot_service, service: upload, factor: 1000, duration: 30m}]\n",
            "5:65: faults.0.factor: about 1.8e+10 requests expected over 1h (rate x active time over the "
            "workload, plus traffic bursts and hot services); at most 50000000",
        ),
        (
            "duration: 1h\n" + FLEET + "faults: [{at: 1m, action: crash_loop, target: gpu/0, every: 1s, "
            "times: 1e12}]\n",
            f"4:72: faults.0.times: {LE} 10000",
        ),
        (
            "duration: 1h\ncoordinator: {breaker_window: 100001}\n" + FLEET,
            f"3:31: coordinator.breaker_window: {LE} 100000",
        ),
    ],
)
def test_every_magnitude_is_bounded_at_its_line(yaml, problem):
    assert problems("name: x\n" + yaml) == ["s.yaml:" + problem]


def test_the_largest_accepted_values():
    text = f"""\
name: big
seed: {MAX_SEED}
duration: 30d
sample_every: 30s
coordinator: {{edges: {MAX_EDGES}, heartbeat_interval: 1m}}
fleet: {{gpu: {{count: 1000, services: {{upload: {{capacity: {MAX_CAPACITY}}}}}}}}}
workload: [{{service: upload, rate: 19/s}}]
"""
    scenario = load_scenario_text(text)
    assert (scenario.seed, scenario.duration, scenario.coordinator.edges) == (MAX_SEED, 30 * 86400.0, MAX_EDGES)


@pytest.mark.parametrize("name", ["a", "crash", "Canary-2.v1_b", "7", "x" * 64, "a..b"])
def test_names_that_are_slugs(name):
    assert load_scenario_text(f"name: '{name}'\nduration: 1m\n{FLEET}").name == name


SLUG = (
    "is not a valid name: it names the report directory reports/<name>/, so it is 1-64 letters, digits, '_', '.' "
    "or '-', starting with a letter or a digit (no '/', no '\\', not '.' or '..')"
)


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../scenarios", "a/b", "/etc", "a\\b", "-rf", ".hidden", "x" * 65, "a b", "caf\u00e9"]
)
def test_names_that_would_be_paths(name):
    quoted = json.dumps(name)  # a YAML double-quoted string
    assert problems(f"name: {quoted}\nduration: 1m\n{FLEET}") == [f"s.yaml:1:7: name: {name!r} {SLUG}"]


def test_a_name_with_a_newline_is_not_a_slug():
    assert problems(f'name: "a\\n"\nduration: 1m\n{FLEET}') == [f"s.yaml:1:7: name: 'a\\n' {SLUG}"]


def test_the_bounds_are_in_the_json_schema():
    schema = scenario_json_schema()
    defs, top = schema["$defs"], schema["properties"]
    assert (
        top["seed"]["maximum"],
        top["faults"]["maxItems"],
        defs["GroupConfig"]["properties"]["count"]["maximum"],
        defs["ServiceConfig"]["properties"]["capacity"]["maximum"],
        defs["CoordinatorConfig"]["properties"]["edges"]["maximum"],
        top["name"]["pattern"],
    ) == (MAX_SEED, MAX_FAULTS, MAX_MACHINES, MAX_CAPACITY, MAX_EDGES, r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    assert "at most 30d" in top["duration"]["description"]
    assert "at most 100000 samples" in top["sample_every"]["description"]
    assert "at most 10000 machines" in top["fleet"]["description"]
    assert "at most 50000000 requests" in defs["WorkloadSpec"]["properties"]["rate"]["description"]
