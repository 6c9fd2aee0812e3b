"""Build steps pyproject.toml cannot state: the optional compiled GBCS parser, and the pages.

The parser's hot modules in webapp/gbcs are plain Python. When Cython (a build requirement)
and a C compiler are at hand they are also compiled, module for module, into extensions that
Python imports in their place; without them, or with HHT_PURE_PYTHON=1 set, the package is
installed as plain Python and runs the same code, only slower.

The wheel carries the top-level templates/ and static/ inside the package, as webapp/templates
and webapp/static (an editable install finds them at the top level).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
ASSETS = ("templates", "static")
COMPILED = (
    "alerts",
    "asn1",
    "asn1_view",
    "datetimes",
    "describe",
    "dlms",
    "dlms_view",
    "gbz",
    "gbz_view",
    "header",
    "message",
    "outcome",
    "payload",
    "reader",
    "records",
    "signing",
    "tree",
    "zcl",
)
#: Same semantics as the interpreted modules: type annotations are not enforced as C types.
DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True}


class BuildPyWithAssets(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in ASSETS:
            shutil.copytree(ROOT / name, Path(self.build_lib) / "webapp" / name, dirs_exist_ok=True)


class BuildExtInParallel(build_ext):
    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        if self.extensions and not _compiler_works():
            print(
                "warning: no working C compiler with the Python headers; "
                "the GBCS parser installs as plain Python (same code, slower)"
            )
            self.extensions = []
        super().run()


def _compiler_works() -> bool:
    """True when a C file that includes Python.h compiles here."""
    import tempfile

    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler, get_python_inc

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.c"
        probe.write_text("#include <Python.h>\nint hht_probe(void) { return 0; }\n")
        try:
            compiler.compile([str(probe)], output_dir=tmp, include_dirs=[get_python_inc()])
        except Exception:  # noqa: BLE001 - any failure means: do not compile
            return False
    return True


def extensions() -> list[Extension]:
    if os.environ.get("HHT_PURE_PYTHON"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    modules = [
        Extension(f"webapp.gbcs.{name}", [f"webapp/gbcs/{name}.py"], optional=True)
        for name in COMPILED
    ]
    return cythonize(
        modules,
        compiler_directives=DIRECTIVES,
        build_dir="build/cython",
        nthreads=os.cpu_count() or 1,
        quiet=True,
    )


setup(
    ext_modules=extensions(),
    cmdclass={"build_py": BuildPyWithAssets, "build_ext": BuildExtInParallel},
)
