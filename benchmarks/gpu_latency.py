"""End-to-end GPU latency: Zenith against PyTorch eager and torch.compile (default, reduce-overhead).

    PYTHONPATH=. python benchmarks/gpu_latency.py [--models bert,resnet50] [--precisions fp32,fp16]
        [--bert-batches 1,32] [--resnet-batches 1,64] [--runs 100] [--warmup 10] [--out docs/benchmarks.md]

One process. Models: BERT-base (``zenith.tools.models.bert_module``, random weights,
seq 128) and ResNet-50 (``zenith.tools.models.resnet50_module``); each is exported to ONNX
at the batch size and compiled by Zenith with ``target="cuda"`` and ``precision=``;
the peers run the same torch module (``.half()`` for fp16). Inputs are torch CUDA
tensors for everyone (Zenith reads them in place and returns torch tensors), so
no host copies are timed. Timing: CUDA events around each call on the current
stream after a warm-up (which also absorbs torch.compile's compilation); the
figure is the median of ``--runs`` (at least 50) calls. The table (markdown) goes
to stdout and, with ``--out``, is appended to that file. Exits with status 2 and
says what is missing on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gpu_common import fmt, publish, require_gpu, time_ms

PEERS = ("eager", "compile", "reduce-overhead")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p.add_argument("--models", default="bert,resnet50", help="comma list of bert, resnet50")
    p.add_argument("--precisions", default="fp32,fp16", help="comma list of fp32, fp16, bf16")
    p.add_argument("--bert-batches", type=ints, default=[1, 32])
    p.add_argument("--resnet-batches", type=ints, default=[1, 64])
    p.add_argument("--seq", type=int, default=128, help="BERT sequence length")
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma list of {', '.join(PEERS)}")
    p.add_argument("--runs", type=int, default=100, help="timed calls per figure (median; at least 50)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--out", type=Path, help="append the markdown section to this file")
    a = p.parse_args(argv)
    if a.runs < 50:
        p.error("--runs must be at least 50")
    return a


def build(torch: Any, model: str, batch: int, seq: int, tmp: Path) -> tuple[Any, list[Any], Path]:
    """The torch module (CPU, fp32), example CUDA inputs, and its ONNX export at ``batch``."""
    from zenith.tools.models import bert_module, export_onnx

    if model == "bert":
        module = bert_module()
        ids = torch.randint(0, 30522, (batch, seq), generator=torch.Generator().manual_seed(0))
        mask = torch.ones(batch, seq, dtype=torch.long)
        path = export_onnx(module, (ids, mask), tmp / f"bert_b{batch}.onnx",
                           input_names=["input_ids", "attention_mask"], output_names=["hidden", "pooled"])
        return module, [ids.cuda(), mask.cuda()], path
    from zenith.tools.models import resnet50_module

    module = resnet50_module()
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    path = export_onnx(module, (x,), tmp / f"resnet50_b{batch}.onnx", input_names=["x"], output_names=["y"])
    return module, [x.cuda()], path


def peer_fn(torch: Any, module: Any, inputs: list[Any], precision: str, peer: str):
    dt = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    m = module.to("cuda", dtype=dt)
    ins = [x.to(dt) if x.is_floating_point() else x for x in inputs]
    if peer == "compile":
        m = torch.compile(m)
    elif peer == "reduce-overhead":
        m = torch.compile(m, mode="reduce-overhead")

    def run():
        with torch.inference_mode():
            return m(*ins)
    return run


def first(out: Any) -> Any:
    return out[0] if isinstance(out, (list, tuple)) else out


def measure(torch: Any, args: argparse.Namespace, model: str, batch: int, tmp: Path) -> list[list[str]]:
    import copy

    import zenith

    module, inputs, path = build(torch, model, batch, args.seq, tmp)
    rows = []
    for precision in args.precisions.split(","):
        cm = zenith.compile(str(path), target="cuda", precision=precision)
        z = time_ms(torch, lambda cm=cm: cm.run(inputs), args.runs, args.warmup)
        row = {"zenith": z}
        ref = None
        for peer in args.peers.split(","):
            try:
                fn = peer_fn(torch, copy.deepcopy(module), inputs, precision, peer)
                row[peer] = time_ms(torch, fn, args.runs, args.warmup)
                if ref is None:
                    ref = first(fn()).float()
            except Exception as e:  # a peer failing is reported, not fatal
                print(f"# {model} b{batch} {precision} {peer}: {type(e).__name__}: {e}", file=sys.stderr)
                row[peer] = None
        got = first(cm.run(inputs)).float()
        err = None if ref is None else float((got - ref).abs().max() / ref.abs().max().clamp_min(1e-12))
        eager, comp = row.get("eager"), row.get("compile")
        rows.append([model, str(batch), precision, fmt(z), *(fmt(row.get(p)) for p in PEERS),
                     fmt(eager / z if eager else None), fmt(comp / z if comp else None), fmt(err)])
        print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch = require_gpu("gpu_latency.py")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for model in args.models.split(","):
            batches = args.bert_batches if model == "bert" else args.resnet_batches
            for batch in batches:
                rows += measure(torch, args, model, batch, Path(d))
    header = ["model", "batch", "precision", "Zenith ms", "eager ms", "compile ms", "reduce-overhead ms",
              "eager/Zenith", "compile/Zenith", "max rel diff vs peer"]
    publish(f"GPU latency (median of {args.runs} calls, ms)", torch, header, rows, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
