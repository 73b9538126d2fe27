"""Dump (and optionally compile) the generated CUDA of a model.

    python -m zenith.tools.cuda_dump model.onnx --out dir [--shapes x:1x128] [--arch sm_90] [--ptx]

Reads an ONNX file or Zenith IR text, runs ``--prepare`` (default
``canonicalize,constant-fold,cse,dce``), then ``fuse,plan-memory``, and writes one
``<kernel>.cu`` per distinct kernel to ``--out``, plus ``kernels.txt`` (every
kernel: kind, template, grid, block, the file holding its source). Kernels of
a kind with no generator are skipped with a note (``--strict``: an error). ``--ptx``
also compiles each file with ``nvcc -ptx`` for ``--arch`` (``<kernel>.ptx``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from zenith.ir.diagnostics import ZenithError

PREPARE = "canonicalize,constant-fold{size-limit=1000000000},cse,dce"


def load(path: str, shapes: str, prepare: str):
    from zenith.passes import run_pipeline

    if path.endswith(".onnx"):
        import zenith

        m = zenith.load_onnx(path)
    else:
        from zenith.ir.parser import parse_module

        m = parse_module(Path(path).read_text(), path)
    pipeline = ",".join(p for p in (f"shape-infer{{shapes={shapes}}}" if shapes else "", prepare,
                                    "fuse,plan-memory") if p)
    run_pipeline(m, pipeline)
    return m


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m zenith.tools.cuda_dump", description=__doc__.split("\n")[0])
    p.add_argument("input", help="an .onnx file or Zenith IR text")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--shapes", default="", help="concrete input shapes, e.g. input_ids:1x128,mask:1x128")
    p.add_argument("--prepare", default=PREPARE, help="passes before fuse,plan-memory")
    p.add_argument("--arch", default="sm_90")
    p.add_argument("--ptx", action="store_true", help="also compile every kernel with nvcc -ptx")
    p.add_argument("--strict", action="store_true",
                   help="fail on a kernel of a kind with no generator (default: skip it, say so)")
    args = p.parse_args(argv)
    try:
        from zenith.codegen.cuda.build import dedupe, generate_sources
        from zenith.codegen.cuda.kernel import GENERATORS, CudaOptions, generate_kernel

        m = load(args.input, args.shapes, args.prepare)
        fused = [op for op in m.main.body if op.name == "zk.fused"]
        missing = [op for op in fused if op.attr("kind") not in GENERATORS]
        if missing and args.strict:
            generate_sources(m, CudaOptions(arch=args.arch))  # raises, naming the first kernel
        for op in missing:
            print(f"skipped {op.attr('name')}: no CUDA generator for kind '{op.attr('kind')}'",
                  file=sys.stderr)
        kernels = [generate_kernel(op, CudaOptions(arch=args.arch)) for op in fused if op not in missing]
        _, by_name = dedupe(kernels)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        kinds = {op.attr("name"): op.attr("kind") for op in m.main.body if op.name == "zk.fused"}
        rows, written = [], {}
        for k in kernels:
            entry = by_name[k.name].entry
            if entry not in written:
                written[entry] = out / f"{entry}.cu"
                written[entry].write_text(by_name[k.name].source)
            rows.append(f"{k.name}\t{kinds[k.name]}\t{k.notes.get('template', '')}\tgrid={k.grid}\t"
                        f"block={k.block}\t{written[entry].name}")
        (out / "kernels.txt").write_text("\n".join(rows) + "\n")
        if args.ptx:
            from zenith.codegen.cuda.nvcc import compile_many

            entries = list(written)
            ptx = compile_many([written[e].read_text() for e in entries], args.arch, "ptx", names=entries)
            for e, data in zip(entries, ptx):
                (out / f"{e}.ptx").write_bytes(data)
        print(f"{len(kernels)} kernels ({len(written)} distinct) written to {out}")
        return 0
    except ZenithError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
