"""Compiling generated C at run time: gcc -> shared object, cached on disk, loaded with ctypes.

Objects are cached under ``$ZENITH_CACHE_DIR`` (default ``~/.cache/zenith``) in
``cpu/<hash>.so``; the hash covers the source, the flags, the compiler's version,
the CPU's feature flags (``-march=native``) and Zenith's version, so a change of
any of them compiles afresh. Identical kernels (the same layer repeated) share
one object.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from zenith.ir.diagnostics import ZenithError

# -fno-trapping-math lets gcc if-convert float selects, so loops with them vectorize
FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp",
         "-shared", "-fPIC", "-std=c99")
CC = os.environ.get("CC", "gcc")


def cache_dir() -> Path:
    root = os.environ.get("ZENITH_CACHE_DIR") or os.path.join(Path.home(), ".cache", "zenith")
    return Path(root) / "cpu"


@functools.lru_cache(maxsize=1)
def compiler_version() -> str:
    """``gcc --version``'s first line, or '' when there is no C compiler."""
    try:
        out = subprocess.run([CC, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.splitlines()[0] if out.returncode == 0 and out.stdout else ""


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return ""


def available() -> bool:
    return bool(compiler_version())


def cache_key(source: str) -> str:
    from zenith import __version__

    h = hashlib.sha256()
    for part in (source, " ".join(FLAGS), compiler_version(), _cpu_flags(), __version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


@functools.lru_cache(maxsize=256)
def load(source: str) -> ctypes.CDLL:
    """The shared object of ``source`` (compiled once, then from the disk cache)."""
    # idle OpenMP workers spin ~10k rounds (~0.1 ms) before sleeping: long enough to bridge
    # the Python between one kernel's parallel region and the next, short enough not to
    # take a core from a peer once the model is done (docs/runtime.md)
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    path = cache_dir() / f"{cache_key(source)}.so"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            src = Path(tmp) / "k.c"
            src.write_text(source)
            obj = Path(tmp) / "k.so"
            res = subprocess.run([CC, *FLAGS, str(src), "-o", str(obj), "-lm"],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise ZenithError(f"gcc failed on a generated CPU kernel:\n{res.stderr[-2000:]}")
            os.replace(obj, path)  # atomic: concurrent compiles of one source agree
    return ctypes.CDLL(str(path))
