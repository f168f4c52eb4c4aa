"""The optional compiled build (issue 17, build 2): ``RMASIM_MYPYC=1`` compiles the simulator's hot modules.

    RMASIM_MYPYC=1 pip install --no-build-isolation .    # needs mypy (the dev extra) and a C compiler

Everything else about the package is in ``pyproject.toml``; without ``RMASIM_MYPYC=1`` this file adds nothing
and the package is pure Python (editable installs always are: a compiled module would shadow its edited source).
The modules in :data:`COMPILED` are the layers under the system code that a fleet-day profile names (the driver,
the runtime, the world's stores, containers and network, the request log); mypyc turns each into a C extension
that imports under the same name, and the ``.py`` files ship beside them. When mypyc or the compiler fails, the
build says so and falls back to the pure-Python modules, with the same results (``benchmarks/compiled.py``
measures both and compares their summaries byte for byte).
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

#: The modules compiled with ``RMASIM_MYPYC=1`` (paths from the project's root).
COMPILED = [
    "rmasim/runtime/driver.py",
    "rmasim/runtime/runtime.py",
    "rmasim/runtime/nodes.py",
    "rmasim/world/service.py",
    "rmasim/world/kv.py",
    "rmasim/world/net.py",
    "rmasim/observe/recorder.py",
    "rmasim/observe/totals.py",
]


def compiled_extensions() -> list:
    """mypyc's extensions for :data:`COMPILED`, or none (not asked for, or mypyc cannot build them)."""
    if os.environ.get("RMASIM_MYPYC") != "1":
        return []
    try:
        from mypyc.build import mypycify

        return mypycify(COMPILED, opt_level="3")
    except (SystemExit, Exception) as error:  # mypy missing, or code mypyc refuses (it exits on a type error)
        print(f"rmasim: RMASIM_MYPYC=1, but mypyc cannot compile ({error}); building pure Python", file=sys.stderr)
        return []


class OptionalBuildExt(build_ext):
    """Build the compiled modules, or none of them: mypyc puts the code of all of them in one shared library that
    each module's extension imports, so a partial build would not import; on a failure every output is removed."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # a compiler error, whatever its class: fall back, say why
            for path in self.get_outputs():
                if os.path.exists(path):
                    os.remove(path)
            print(f"rmasim: the compiled modules did not build ({error}); building pure Python", file=sys.stderr)


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
