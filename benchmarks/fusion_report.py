"""Kernels after ``fuse`` against ONNX Runtime's optimized graph, and the arena of ``plan-memory``.

    PYTHONPATH=. python benchmarks/fusion_report.py [--models bert,resnet50,densenet121] [--seq 128]

For each model: the ops Zenith compiles (after ``PREPARE``), the ``zk.fused``
kernels that ``fuse`` makes of them, the nodes of ONNX Runtime's optimized graph
(``ORT_ENABLE_ALL``, saved with ``optimized_model_filepath``, CPU provider), and
the arena that ``plan-memory`` gives against its lower bound (the largest total
of bytes live at one step) and the naive sum of every intermediate.

BERT-base is ``transformers.BertModel(BertConfig())`` with random weights (biases
and layer-norm parameters drawn too, so that none is folded away as a zero),
exported with ``torch.onnx.export(..., dynamo=False, opset_version=17)`` at batch 1;
ResNet-50 and DenseNet-121 are the light models shipped in the ``onnx`` package.
The test suite (``tests/test_fuse_models.py``) asserts the same numbers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import onnx

from zenith.tools.models import export_bert, light_model_path

# Weights of the light models are ConstantOfShape nodes: fold them whatever their size.
PREPARE = "canonicalize,constant-fold{size-limit=1000000000},cse,dce"
MODELS = ("bert", "resnet50", "densenet121")


def ort_node_count(path: Path) -> int:
    """Nodes of ONNX Runtime's optimized graph (ORT_ENABLE_ALL, CPU) for the model at ``path``."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "optimized.onnx"
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.optimized_model_filepath = str(out)
        so.log_severity_level = 3
        ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        return len(onnx.load(str(out), load_external_data=False).graph.node)


@dataclass
class Row:
    model: str
    ops: int  # compute ops before fuse (constants and views not counted)
    kernels: int
    ort_nodes: int
    arena: int
    lower_bound: int
    naive: int
    fuse_s: float
    plan_s: float

    @property
    def arena_ratio(self) -> float:
        return self.arena / self.lower_bound if self.lower_bound else 1.0


def compile_model(path: Path):
    """The module of the model at ``path`` after PREPARE, then ``fuse`` and ``plan-memory`` (with times)."""
    import zenith
    from zenith.passes import run_pipeline
    from zenith.passes.fuse.classify import op_class

    m = zenith.load_onnx(path)
    run_pipeline(m, PREPARE)
    ops = sum(op_class(op) not in ("constant", "view", "terminator") for op in m.main.body)
    report = run_pipeline(m, "fuse,plan-memory")
    fuse_s, plan_s = (r.seconds for r in report.records)
    return m, ops, fuse_s, plan_s


def measure(name: str, path: Path) -> Row:
    m, ops, fuse_s, plan_s = compile_model(path)
    a = m.main.attributes
    kernels = sum(op.name == "zk.fused" for op in m.main.body)
    return Row(name, ops, kernels, ort_node_count(path), a["arena_bytes"], a["arena_lower_bound"],
               a["arena_naive"], fuse_s, plan_s)


def format_rows(rows: list[Row]) -> str:
    mib = 1 << 20
    lines = [f"{'model':<12} {'ops':>5} {'kernels':>8} {'ORT nodes':>10} {'arena MiB':>10} "
             f"{'bound MiB':>10} {'arena/bound':>12} {'naive MiB':>10} {'fuse s':>7} {'plan s':>7}"]
    for r in rows:
        lines.append(f"{r.model:<12} {r.ops:>5} {r.kernels:>8} {r.ort_nodes:>10} {r.arena / mib:>10.2f} "
                     f"{r.lower_bound / mib:>10.2f} {r.arena_ratio:>12.3f} {r.naive / mib:>10.2f} "
                     f"{r.fuse_s:>7.2f} {r.plan_s:>7.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    ap.add_argument("--seq", type=int, default=128, help="BERT sequence length")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            start = time.perf_counter()
            bert = name == "bert"
            path = export_bert(Path(tmp) / "bert.onnx", args.seq) if bert else light_model_path(name)
            rows.append(measure("bert-base" if name == "bert" else name, path))
            print(f"# {name}: {time.perf_counter() - start:.1f} s", flush=True)
    print(format_rows(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
