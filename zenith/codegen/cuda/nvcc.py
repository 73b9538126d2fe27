"""Compile CUDA C++ with ``nvcc`` to PTX or cubin, with a disk cache and a thread pool.

- :func:`compile_source` compiles one translation unit for one architecture
  (``sm_80``, ``sm_90``...) to ``ptx`` or ``cubin`` bytes.
- The cache lives in ``$ZENITH_CACHE_DIR`` (default ``~/.cache/zenith/cuda``), one
  file per key: the SHA-256 of source, output format, architecture, flags, the
  ``nvcc --version`` text and the Zenith version. Writes are atomic (rename).
- :func:`compile_many` compiles independent units in parallel (identical units
  once), reporting progress on stderr when there are more than a few of them or
  they take more than a few seconds.
- :func:`bundle` joins several kernels into one unit (one nvcc process instead of
  many: the prelude is include-guarded and entry names are unique within a model).
- A compile error is a :class:`ZenithError` with nvcc's message and the generated
  source around each line it reports, numbered.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zenith.ir.diagnostics import ZenithError

DEFAULT_FLAGS = ("-O3", "-std=c++17", "-lineinfo")
FORMATS = ("ptx", "cubin")
_LINE = re.compile(r"\((\d+)\): (error|warning)")


def nvcc_path() -> str:
    """The nvcc executable ($ZENITH_NVCC, $CUDA_HOME/bin/nvcc, or nvcc on the PATH)."""
    cand = os.environ.get("ZENITH_NVCC")
    if cand:
        if shutil.which(cand) is None:
            raise ZenithError(f"ZENITH_NVCC={cand} is not an executable nvcc")
        return cand
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if home and (Path(home) / "bin" / "nvcc").exists():
        return str(Path(home) / "bin" / "nvcc")
    found = shutil.which("nvcc")
    if found is None:
        raise ZenithError("nvcc was not found: install the CUDA toolkit and put nvcc on the PATH "
                          "(or set CUDA_HOME or ZENITH_NVCC) to compile CUDA kernels")
    return found


@functools.lru_cache(maxsize=4)
def nvcc_version(path: str | None = None) -> str:
    """``nvcc --version`` output (part of every cache key)."""
    out = subprocess.run([path or nvcc_path(), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def cache_dir() -> Path:
    return Path(os.environ.get("ZENITH_CACHE_DIR") or Path.home() / ".cache" / "zenith") / "cuda"


def cache_key(source: str, arch: str, fmt: str, flags: Sequence[str]) -> str:
    from zenith import __version__

    h = hashlib.sha256()
    for part in (source, arch, fmt, " ".join(flags), nvcc_version(), __version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def format_error(source: str, message: str, context: int = 3, limit: int = 5) -> str:
    """nvcc's message followed by the numbered source lines around each reported line."""
    lines = source.splitlines()
    shown: list[str] = []
    seen: set[int] = set()
    for m in _LINE.finditer(message):
        n = int(m.group(1))
        if m.group(2) != "error" or n in seen or len(seen) >= limit:
            continue
        seen.add(n)
        lo, hi = max(1, n - context), min(len(lines), n + context)
        shown.append(f"--- generated source, line {n} ---")
        shown += [f"{'>' if i == n else ' '}{i:5d} | {lines[i - 1]}" for i in range(lo, hi + 1)]
    return message.strip() + ("\n" + "\n".join(shown) if shown else "")


def compile_source(source: str, arch: str = "sm_90", fmt: str = "cubin",
                   flags: Sequence[str] = DEFAULT_FLAGS, name: str = "kernel",
                   use_cache: bool = True) -> bytes:
    """PTX or cubin bytes of ``source`` for ``arch`` (cached on disk)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    nvcc = nvcc_path()
    key = cache_key(source, arch, fmt, flags)
    path = cache_dir() / key[:2] / f"{key}.{fmt}"
    if use_cache and path.exists():
        return path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="zenith-nvcc-") as tmp:
        src = Path(tmp) / f"{name}.cu"
        out = Path(tmp) / f"{name}.{fmt}"
        src.write_text(source)
        cmd = [nvcc, f"--{fmt}", f"-arch={arch}", *flags, "-o", str(out), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ZenithError(f"nvcc failed to compile '{name}' for {arch} ({fmt}):\n"
                              + format_error(source, proc.stderr + proc.stdout))
        data = out.read_bytes()
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmpname = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmpname, path)
    return data


def compile_many(sources: Sequence[str], arch: str = "sm_90", fmt: str = "cubin",
                 flags: Sequence[str] = DEFAULT_FLAGS, names: Sequence[str] | None = None,
                 jobs: int | None = None, use_cache: bool = True, progress: bool | None = None
                 ) -> list[bytes]:
    """Compile independent units in parallel; identical sources are compiled once.

    ``progress``: None reports on stderr when there are more than 4 units or the
    compile takes more than 3 s; True / False force it on / off.
    """
    names = list(names) if names is not None else [f"unit{i}" for i in range(len(sources))]
    unique: dict[str, int] = {}
    for i, s in enumerate(sources):
        unique.setdefault(s, i)
    todo = list(unique.items())
    jobs = jobs or max(1, min(len(todo), os.cpu_count() or 1))
    start, done = time.monotonic(), 0
    results: dict[str, bytes] = {}

    def report(final: bool = False) -> None:
        elapsed = time.monotonic() - start
        if progress is False or (progress is None and len(todo) <= 4 and elapsed < 3):
            return
        end = "\n" if final else "\r"
        sys.stderr.write(f"[zenith] nvcc {arch} {fmt}: {done}/{len(todo)} units, {elapsed:.1f}s{end}")
        sys.stderr.flush()

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(compile_source, s, arch, fmt, flags, names[i], use_cache): s
                   for s, i in todo}
        for fut in futures:
            results[futures[fut]] = fut.result()
            done += 1
            report(done == len(todo))
    return [results[s] for s in sources]


def rename_entry(source: str, old: str, new: str) -> str:
    """``source`` with the symbol ``old`` renamed ``new`` (whole words)."""
    return re.sub(rf"\b{re.escape(old)}\b", new, source)


def bundle(sources: Sequence[str]) -> str:
    """One translation unit of several kernel units (include-guarded prelude, unique entries)."""
    return "\n".join(sources)
