"""Sample for zt.non_max_suppression; the oracle is a plain-Python greedy loop."""

from __future__ import annotations

import numpy as np

from tests.opsamples import Arg, Draw, sample
from zenith.ir import DTYPES, TensorType


def _box(b, center: bool) -> tuple[float, float, float, float]:
    if center:
        x, y, w, h = (float(v) for v in b)
        return y - h / 2, x - w / 2, y + h / 2, x + w / 2
    y1, x1, y2, x2 = (float(v) for v in b)
    return min(y1, y2), min(x1, x2), max(y1, y2), max(x1, x2)


def _iou(a, b) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    if area_a <= 0 or area_b <= 0:
        return 0.0
    return inter / (area_a + area_b - inter)


def _nms_oracle(ins, a):
    boxes, scores = ins
    center = a.get("center_point_box", False)
    limit, thr = a.get("max_output_boxes_per_class", 0), a.get("iou_threshold", 0.0)
    score_thr = a.get("score_threshold")
    rows = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            cand = sorted(range(scores.shape[2]), key=lambda i: (-float(scores[b, c, i]), i))
            kept = []
            for i in cand:
                if score_thr is not None and not float(scores[b, c, i]) > score_thr:
                    continue
                if len(kept) >= limit:
                    break
                if all(_iou(_box(boxes[b, i], center), _box(boxes[b, j], center)) <= thr
                       for j in kept):
                    kept.append(i)
            rows += [[b, c, i] for i in kept]
    return np.array(rows, np.int64).reshape(-1, 3)


@sample("zt.non_max_suppression", _nms_oracle, composable=False)
def _nms(d: Draw, like):
    batch, classes, n = d.int(1, 2), d.int(1, 2), d.int(1, 6)
    dt = DTYPES[d.choice(("f32", "f64"))]
    attrs = {"max_output_boxes_per_class": d.int(0, 4), "iou_threshold": d.choice((0.0, 0.3, 0.6)),
             "center_point_box": d.bool()}
    if d.bool():
        attrs["score_threshold"] = d.choice((0.0, 0.4))
    return [Arg(TensorType(dt, (batch, n, 4)), 0, 2), Arg(TensorType(dt, (batch, classes, n)), 0, 1)], \
        attrs
