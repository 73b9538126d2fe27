"""What the GPU benchmarks share: the availability check, device facts, timing and tables.

Timing is CUDA-synchronised: a CUDA event is recorded on PyTorch's current stream
before and after each call (Zenith's calls return only when their stream is done),
after a warm-up; the figure is the median of the runs.
"""

from __future__ import annotations

import datetime
import statistics
import sys
from collections.abc import Callable
from typing import Any

NO_GPU_EXIT = 2


def require_gpu(script: str) -> Any:
    """torch, after checking that the Zenith CUDA target can run and PyTorch sees the GPU; else
    exit with status 2 and a message that says what is missing."""
    from zenith.cuda_target import cuda_unavailable

    problems = []
    reason = cuda_unavailable()
    if reason:
        problems.append(f"the Zenith CUDA target is unavailable: {reason}")
    else:  # torch is imported only once the GPU is known to be there (it is slow to import)
        try:
            import torch
        except ImportError:
            problems.append("PyTorch is not installed (the peers and the timing use it)")
        else:
            if not torch.cuda.is_available():
                problems.append("PyTorch sees no CUDA device")
    if problems:
        sys.stderr.write(f"{script}: needs an NVIDIA GPU; cannot run here:\n"
                         + "".join(f"  - {p}\n" for p in problems))
        raise SystemExit(NO_GPU_EXIT)
    return torch


def time_ms(torch: Any, fn: Callable[[], Any], runs: int, warmup: int) -> float:
    """Median milliseconds of ``fn()`` between CUDA events on the current stream."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def peak_bandwidth(device: int = 0) -> float:
    """Peak DRAM bandwidth in bytes/s from the device attributes: 2 x memory clock x bus width."""
    from zenith.runtime.cuda import device_context

    ctx = device_context(device)
    clock_hz = ctx.attribute("MEMORY_CLOCK_RATE") * 1e3  # reported in kHz
    bus_bytes = ctx.attribute("GLOBAL_MEMORY_BUS_WIDTH") / 8
    return 2 * clock_hz * bus_bytes


def environment(torch: Any) -> str:
    """Device, driver, CUDA, torch and Zenith versions and the date, as markdown lines."""
    import zenith
    from zenith.runtime.cuda import device_context

    ctx = device_context()
    drv = ctx.driver
    props = torch.cuda.get_device_properties(0)
    lines = [f"- device: {props.name} ({props.total_memory / 2**30:.0f} GiB, "
             f"sm_{props.major}{props.minor})",
             f"- driver CUDA version: {drv.get_driver_version()}, PyCUDA built for "
             f"{'.'.join(map(str, drv.get_version()))}",
             f"- torch {torch.__version__} (CUDA {torch.version.cuda}), Zenith {zenith.__version__}",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"- command: `{' '.join(sys.argv)}`"]
    return "\n".join(lines)


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}" if x < 100 else f"{x:.0f}"


def publish(title: str, torch: Any, header: list[str], rows: list[list[str]], out: str | None) -> None:
    """Print a markdown section (title, environment, table) and append it to ``out`` if given."""
    text = f"### {title}\n\n{environment(torch)}\n\n{table(header, rows)}\n"
    print(text)
    if out:
        with open(out, "a") as f:
            f.write("\n" + text)
