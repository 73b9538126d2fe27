"""Detection ops: ``zt.non_max_suppression`` (ONNX NonMaxSuppression)."""

from __future__ import annotations

import numpy as np

from zenith.dialects.shape_rules import check_dims_match
from zenith.ir.dtypes import i64
from zenith.ir.opdef import PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType


def corners(boxes: np.ndarray, center_point_box: bool) -> np.ndarray:
    """Boxes as [y1, x1, y2, x2] with y1 <= y2 and x1 <= x2."""
    b = boxes.astype(np.float64)
    if center_point_box:  # [x_center, y_center, width, height]
        xc, yc, w, h = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
        return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=-1)
    y1, x1, y2, x2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack([np.minimum(y1, y2), np.minimum(x1, x2), np.maximum(y1, y2),
                     np.maximum(x1, x2)], axis=-1)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of box ``a`` [4] with boxes ``b`` [n, 4] (0 for empty boxes)."""
    h = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    w = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = h * w
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((area_a > 0) & (area_b > 0) & (union > 0), inter / union, 0.0)


def _nms_ref(ctx, boxes, scores):
    limit = ctx.attr("max_output_boxes_per_class")
    thr, score_thr = ctx.attr("iou_threshold"), ctx.attr("score_threshold")
    box = corners(boxes, ctx.attr("center_point_box"))
    out = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c].astype(np.float64)
            order = [i for i in np.argsort(-s, kind="stable")
                     if score_thr is None or s[i] > score_thr]
            kept: list[int] = []
            for i in order:
                if len(kept) >= limit:
                    break
                if not kept or np.all(iou(box[b, i], box[b, kept]) <= thr):
                    kept.append(int(i))
            out.extend([b, c, i] for i in kept)
    return np.asarray(out, np.int64).reshape(-1, 3)


def _nms_infer(ctx: InferContext) -> TensorType:
    boxes, scores = ctx.operand_types
    if not boxes.dtype.is_float or scores.dtype is not boxes.dtype:
        raise InferError(f"boxes and scores must share a float dtype, got {boxes.dtype} and "
                         f"{scores.dtype}")
    if boxes.rank != 3 or scores.rank != 3:
        raise InferError(f"boxes must be [batch, n, 4] and scores [batch, classes, n], got "
                         f"{boxes} and {scores}")
    if isinstance(boxes.shape[2], int) and boxes.shape[2] != 4:
        raise InferError(f"boxes' last dim must be 4, got {boxes}")
    check_dims_match(boxes.shape[0], scores.shape[0], "batch sizes differ")
    check_dims_match(boxes.shape[1], scores.shape[2], "box counts differ")
    if ctx.attr("max_output_boxes_per_class") < 0:
        raise InferError("max_output_boxes_per_class must be >= 0")
    return TensorType(i64, (None, 3))


define_op(
    "zt.non_max_suppression",
    operands=("boxes", "scores"),
    attrs={"max_output_boxes_per_class": ("int", 0), "iou_threshold": ("float", 0.0),
           "score_threshold": ("float", None), "center_point_box": ("bool", False)},
    traits=(PURE,),
    infer=_nms_infer,
    reference=_nms_ref,
    doc="Greedy NMS per batch and class (ONNX NonMaxSuppression): boxes by score, highest first "
        "(ties by index), kept when score > score_threshold and IoU <= iou_threshold with every "
        "kept box; at most max_output_boxes_per_class. Result [k, 3] i64 rows (batch, class, "
        "box).",
)
