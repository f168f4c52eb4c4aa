"""The Node.js process that runs a Worker module: start it, load the Worker, exchange lockstep messages.

``NodeHost`` spawns ``node --experimental-vm-modules rmasim/js/host.mjs`` (Node >= 18 from ``PATH``, or the
``RMASIM_NODE`` environment variable) with a minimal environment (``TZ=UTC``, as Workers run in UTC, and the C
locale), so nothing of the caller's environment reaches the Worker. The host's stderr goes to a temporary file,
whose tail is quoted when the host dies. Errors:

- :class:`NodeNotFound` - no Node.js, or one older than 18 (one line naming the version needed);
- :class:`~rmasim.scenario.ScenarioError` - the Worker does not load: a syntax error is located
  ``file:line:col: SyntaxError: ...``;
- :class:`HostDied` - the process exited or answered nonsense mid-run: the run fails with this message.
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ...scenario import Problem, ScenarioError
from ._paths import shown_path
from .config import WorkerConfig, load_worker_config
from .protocol import Message, encode_message

__all__ = ["HOST_SCRIPT", "MIN_NODE", "HostDied", "NodeHost", "NodeNotFound", "check_worker", "find_node", "host_polls"]

#: The host script shipped with the package.
HOST_SCRIPT = Path(__file__).resolve().parents[2] / "js" / "host.mjs"
#: The oldest Node.js major version the host supports (vm.SourceTextModule, global fetch/Response, structuredClone).
MIN_NODE = 18
_STDERR_TAIL = 2000
#: Wall seconds to poll the host's pipe before blocking on it (see ``NodeHost._read_line``).
SPIN_SECONDS = 0.0002
_CHUNK = 1 << 20
#: Wall seconds the host may take to answer one message (a Worker looping without I/O never answers).
REPLY_TIMEOUT = 120.0


class NodeNotFound(RuntimeError):
    """No usable Node.js: absent, or too old."""


class HostDied(RuntimeError):
    """The Worker host process ended, or broke the protocol, in the middle of a run."""


@functools.lru_cache(maxsize=8)
def _node_version(node: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise NodeNotFound(f"cannot run {node} --version: {error}") from None
    return tuple(int(part) for part in out.strip().lstrip("v").split(".") if part.isdigit())


def find_node() -> str:
    """The ``node`` executable to use: ``$RMASIM_NODE``, else ``node`` on ``PATH``, at least version 18."""
    node = os.environ.get("RMASIM_NODE") or shutil.which("node")
    if node is None:
        raise NodeNotFound(f"running a Worker needs Node.js >= {MIN_NODE} on PATH (none found; e.g. apt-get install "
                           "nodejs, or set RMASIM_NODE)")  # fmt: skip
    version = _node_version(node)
    if not version or version[0] < MIN_NODE:
        shown = ".".join(map(str, version)) or "unknown"
        raise NodeNotFound(f"running a Worker needs Node.js >= {MIN_NODE}; {node} is version {shown}")
    return node


def others_running(samples: int = 5, gap: float = 0.0002) -> int | None:
    """How many tasks besides this process are running or waiting for a core now: the least of a few readings of
    Linux's ``/proc/loadavg`` (its fourth field, runnable/total, counts the reader), ``gap`` seconds apart, so a
    task waking for an instant does not count. None where there is no such file."""
    least = None
    try:
        for sample in range(samples):
            if sample:
                time.sleep(gap)
            with open("/proc/loadavg", "rb") as file:
                running = int(file.read().split()[3].split(b"/")[0]) - 1
            least = running if least is None else min(least, running)
    except (OSError, ValueError, IndexError):
        return None
    return least


def host_polls() -> bool:
    """Whether a host should poll its stdin rather than block on it: on a machine with cores to spare for it.
    Being woken from a blocking read costs about as much as the host's whole answer on a virtual machine, but a
    polling host keeps a core busy (and this process polls its answers): the two need a core each. So no polling
    in a process pool (a sweep's worker: a child process, whose cores are the pool's other runs'), nor when other
    work already runs on the cores the two would need (:func:`others_running`): there the polling pair takes
    turns with that work on a core, and each message waits for a time slice (crash.yaml on 2 cores with two
    other busy processes: 8-10 s of wall time polling, 2.2 s blocking)."""
    cores = os.cpu_count() or 1
    if multiprocessing.parent_process() is not None or cores < 2:
        return False
    others = others_running()
    return others is None or others + 2 <= cores


class NodeHost:
    """One host process serving one simulation (see the module docstring). Implements ``HostLink``."""

    def __init__(
        self,
        config: WorkerConfig,
        node: str | None = None,
        script: Path = HOST_SCRIPT,
        reply_timeout: float = REPLY_TIMEOUT,
        poll: bool | None = None,
    ) -> None:
        self.config = config
        self.reply_timeout = reply_timeout
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        command = [node or find_node(), "--experimental-vm-modules", "--no-warnings", str(script)]
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TZ": "UTC", "LC_ALL": "C"}
        host_stdin, to_host = os.pipe()
        self.polls = host_polls() if poll is None else poll
        if self.polls:
            os.set_blocking(host_stdin, False)  # the host then polls its stdin (readSome in host.mjs)
        try:
            self._process = subprocess.Popen(
                command, stdin=host_stdin, stdout=subprocess.PIPE, stderr=self._stderr, env=environment
            )
        finally:
            os.close(host_stdin)
        assert self._process.stdout is not None
        self._stdin, self._stdout = os.fdopen(to_host, "wb"), self._process.stdout
        self._stdout_fd = self._stdout.fileno()
        os.set_blocking(self._stdout_fd, False)  # our end only: the host writes to a blocking pipe
        self._buffer = b""
        self.messages = 0
        """Messages exchanged so far (a cost figure for benchmarks)."""
        self._load()

    def _load(self) -> None:
        reply = self.exchange(
            {"t": "load", "main": str(self.config.main), "kv": list(self.config.kv_bindings),
             "vars": dict(self.config.vars)}
        )  # fmt: skip
        if reply.get("t") == "loaded":
            return
        self.close()
        file = shown_path(reply.get("file") or str(self.config.main))
        message = str(reply.get("message", "the Worker did not load"))
        if reply.get("kind") == "syntax":
            raise ScenarioError([Problem(file, reply.get("line"), reply.get("col"), "", message)])
        raise ScenarioError([Problem(file, None, None, "", f"the Worker did not load: {message}")])

    def exchange(self, message: Mapping[str, Any]) -> Message:
        """Send one message, return the one reply."""
        try:
            self._stdin.write(encode_message(message))
            self._stdin.flush()
            line = self._read_line()
        except (BrokenPipeError, OSError, ValueError):
            line = b""
        if not line:
            raise HostDied(self._death())
        self.messages += 1
        reply: Message = _loads(line)
        if reply.get("t") == "fatal":
            self.close()
            raise HostDied(f"the Worker host failed: {reply.get('message')}")
        return reply

    def _read_line(self) -> bytes:
        """The host's next line (b"" when it is gone). The reply to a message usually comes within tens of
        microseconds: the pipe is polled for up to :data:`SPIN_SECONDS`, yielding the core between two reads
        (being woken from a blocking read costs more than the host's whole answer on a virtual machine), then
        read with ``select``."""
        buffer = self._buffer
        while True:
            end = buffer.find(b"\n")
            if end >= 0:
                self._buffer = buffer[end + 1 :]
                return buffer[:end]
            chunk = self._read_chunk()
            if not chunk:
                return b""
            buffer += chunk

    def _read_chunk(self) -> bytes:
        read, fd, yield_cpu = os.read, self._stdout_fd, os.sched_yield
        spins = 0
        deadline = 0.0
        while True:
            try:
                return read(fd, _CHUNK)
            except BlockingIOError:
                pass
            spins += 1
            yield_cpu()  # another process (the host, or another run's) may need this core
            if spins & 15:
                continue
            now = time.perf_counter()
            if deadline == 0.0:
                deadline = now + SPIN_SECONDS
            elif now > deadline:
                break
        if not select.select([fd], [], [], self.reply_timeout)[0]:
            self._process.kill()
            raise HostDied(f"the Worker host ({self.config.main.name}) gave no answer in {self.reply_timeout:g} s "
                           "of wall time: is the Worker stuck in a loop that does no I/O?")  # fmt: skip
        return read(fd, _CHUNK)

    def _death(self) -> str:
        code = self._process.poll()
        if code is None:
            try:
                code = self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        self._stderr.seek(0)
        tail = self._stderr.read().decode(errors="replace")[-_STDERR_TAIL:].strip()
        how = f"exited with status {code}" if code is not None else "stopped answering"
        return f"the Worker host process (Node.js, {self.config.main.name}) {how} mid-run" + (
            f"; its last output:\n{tail}" if tail else ""
        )

    def close(self) -> None:
        """End the host: close its stdin (it exits), kill it if it lingers."""
        if self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._stdin, self._stdout, self._stderr):
            with contextlib.suppress(OSError):
                stream.close()

    @property
    def pid(self) -> int:
        return self._process.pid


#: json.loads without its per-call encoding detection and whitespace handling (the host writes UTF-8 lines of
#: compact JSON): ``raw_decode`` of one decoder.
_DECODER = json.JSONDecoder()


def _loads(line: bytes) -> Message:
    try:
        text = line.decode()
        value, end = _DECODER.raw_decode(text)
        if end != len(text):
            raise ValueError("extra data")
    except ValueError:
        raise HostDied(f"the Worker host wrote something that is not a protocol line: {line[:200]!r}") from None
    if not isinstance(value, dict):
        raise HostDied(f"the Worker host wrote something that is not a protocol message: {line[:200]!r}")
    return value


def check_worker(path: str | Path, scenario_source: str | None = None, node: str | None = None) -> WorkerConfig:
    """Load the Worker at ``path`` once, in a host of its own, and stop it: its configuration is valid, Node.js is
    usable, every module parses and the top level runs. Raises what a run would raise at its start, as a
    :class:`~rmasim.scenario.ScenarioError` of located lines (a missing or old Node.js too), before the run."""
    config = load_worker_config(path, scenario_source)
    try:
        NodeHost(config, node).close()
    except NodeNotFound as error:
        raise ScenarioError([Problem("coordinator.worker", None, None, "", str(error))]) from None
    return config
