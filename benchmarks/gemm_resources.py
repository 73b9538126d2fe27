"""Registers, spills and shared memory of the GEMM / conv / attention kernels (ptxas, no GPU).

    PYTHONPATH=. python benchmarks/gemm_resources.py [--arch sm_80]

Compiles each kernel of a fixed set (transformer- and ResNet-sized shapes, every
tile configuration) to a cubin with ``nvcc -cubin -Xptxas -v`` and prints what
ptxas reports: registers per thread, spill stores/loads, static shared memory.
This is what can be measured without a GPU: spills or a register count that
limits occupancy show up here before any timing exists.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.cuda_gemm_util import NVCC, build, fused
from tests.gemm_cases import _attn, _conv, _linear
from zenith.codegen.cuda import CudaOptions, generate_kernel
from zenith.codegen.cuda.gemm import generate_matmul
from zenith.codegen.cuda.gemm_templates import SIMT_CONFIGS, WMMA_CONFIGS

SHAPES = [
    ("bert-ffn", [((1, 128, 768), "{dt}"), ((3072, 768), "{dt}"), ((3072,), "{dt}")], _linear(True, "gelu")),
    ("bert-attn", [((1, 12, 128, 64), "{dt}")] * 3 + [((1, 1, 1, 128), "{dt}")], _attn()),
    ("attn-d128", [((1, 16, 256, 128), "{dt}")] * 3, _attn()),
    ("resnet-conv3x3", [((1, 64, 56, 56), "{dt}"), ((64, 64, 3, 3), "{dt}"), ((64,), "{dt}")],
     _conv(True, "relu", pads=[1, 1, 1, 1])),
    ("resnet-depthwise", [((1, 64, 56, 56), "{dt}"), ((64, 1, 3, 3), "{dt}")], _conv(False, group=64)),
]
TILE_CASE = ("linear-2048", [((2048, 1024), "{dt}"), ((1024, 1024), "{dt}"), ((1024,), "{dt}")],
             _linear(True, "gelu"))


def _op(case, dt: str):
    _, args, body = case
    (op,) = fused(build([(s, d.format(dt=dt)) for s, d in args], body))
    return op


def kernels(arch: str) -> list[tuple[str, object]]:
    out = []
    for dt in ("f32", "f16"):
        for case in SHAPES:
            out.append((f"{case[0]} {dt}", generate_kernel(_op(case, dt), CudaOptions(arch=arch))))
    for dt, tiles in (("f32", SIMT_CONFIGS), ("f16", WMMA_CONFIGS)):
        for tile in tiles:
            k = generate_matmul(_op(TILE_CASE, dt), CudaOptions(arch=arch), tile=tile)
            out.append((f"{TILE_CASE[0]} {dt}", k))
    return out


def ptxas_info(source: str, arch: str, tmp: Path) -> dict[str, int]:
    cu = tmp / "k.cu"
    cu.write_text(source)
    cmd = [NVCC, "-cubin", f"-arch={arch}", "-Xptxas", "-v", "-o", str(tmp / "k.cubin"), str(cu)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    text = r.stderr
    get = lambda pat: int(m.group(1)) if (m := re.search(pat, text)) else 0  # noqa: E731
    return {"regs": get(r"Used (\d+) registers"), "spill_st": get(r"(\d+) bytes spill stores"),
            "spill_ld": get(r"(\d+) bytes spill loads"), "smem": get(r"(\d+) bytes smem")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="sm_80")
    args = ap.parse_args()
    if NVCC is None:
        sys.exit("nvcc not found")
    print(f"{'kernel':22s} {'template':22s} {'tile':11s} {'threads':>7s} {'regs':>5s} {'spill':>6s} "
          f"{'smem B':>7s}  stages")
    with tempfile.TemporaryDirectory() as d:
        for name, k in kernels(args.arch):
            info = ptxas_info(k.source, args.arch, Path(d))
            print(f"{name:22s} {k.notes['template']:22s} {k.notes.get('tile', '-'):11s} {k.block[0]:7d} "
                  f"{info['regs']:5d} {info['spill_st'] + info['spill_ld']:6d} {info['smem']:7d}  "
                  f"{k.notes.get('stages', '-')}")


if __name__ == "__main__":
    main()
