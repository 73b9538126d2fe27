"""Run one reference model on target="cuda" a few times: the process to put under
``compute-sanitizer`` (memcheck, racecheck) or ``nsys`` / ``ncu``.

    PYTHONPATH=. compute-sanitizer --tool memcheck python benchmarks/gpu_run_model.py --model bert
    PYTHONPATH=. compute-sanitizer --tool racecheck python benchmarks/gpu_run_model.py --model resnet50

Models: ``bert`` (BERT-base, seq 128), ``resnet50`` (the light model, random
weights), ``gpt2`` (a GPT-2 block, seq 128). With ``--check`` the last result is
compared with target="cpu" (rtol 1e-4 for fp32, 2e-2 for fp16/bf16). Exits with
status 2 and says what is missing without a GPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gpu_common import require_gpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["bert", "resnet50", "gpt2"], default="bert")
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-graphs", action="store_true", help="launch kernels directly (no CUDA graphs)")
    p.add_argument("--check", action="store_true", help="compare the result with target='cpu'")
    args = p.parse_args(argv)
    require_gpu("gpu_run_model.py")
    import numpy as np

    import zenith
    from zenith.cuda_target import compile_cuda, precision_pipeline
    from zenith.passes import run_pipeline
    from zenith.tools import models

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        if args.model == "bert":
            src = str(models.export_bert(Path(d) / "bert.onnx", seq=128))
            inputs = [rng.integers(0, 30522, (1, 128)).astype(np.int64), np.ones((1, 128), np.int64)]
        elif args.model == "gpt2":
            src = str(models.export_gpt2_block(Path(d) / "gpt2.onnx", seq=128))
            inputs = [rng.standard_normal((1, 128, 768)).astype(np.float32)]
        else:
            src = models.randomize_light_model(models.light_model_path("resnet50"))
            inputs = [rng.standard_normal((1, 3, 224, 224)).astype(np.float32)]
        m = zenith.load_onnx(src)
        run_pipeline(m, ",".join(x for x in ("canonicalize,constant-fold,cse,dce",
                                             precision_pipeline(args.precision)) if x))
        exe = compile_cuda(m, graphs=not args.no_graphs)
        for _ in range(args.runs):
            out = exe(inputs)
        print(f"{args.model} {args.precision}: {len(exe.program.launches)} launches, stats {exe.stats()}")
        if args.check:
            from tests.gpu.gpu_util import assert_matches

            want = zenith.compile(src, target="cpu").run(inputs)
            for i, (w, g) in enumerate(zip(want, out)):
                assert_matches(w, g, args.precision, f"output #{i}")
            print("matches target='cpu'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
