"""Rewrite a YOLOv8 ONNX export: dynamic batch, another input size, person class only.

    python -m mctrt.models prepare IN.onnx OUT.onnx [--dynamic-batch] [--input-size H W] [--person-only]

YOLOv8 exports bake three things into constants: the batch size (the head's Reshape shapes start
with 1), the input size (the anchor centres and per-anchor strides of the 8/16/32 grids), and the
class list (the output concatenates boxes with every class score). The graph is recognised by its
structure, not by node names: the output is Concat(Mul(boxes, strides), Sigmoid(class scores)), the
anchor centres are (1, 2, A) constants, and the strides a (1, A) constant. Anything else is refused
with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mctrt.errors import ModelError
from mctrt.models.onnx_io import check_output, load_onnx, save_onnx

STRIDES = (8, 16, 32)


def anchor_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Anchor centres (1, 2, A) in grid units and strides (1, A) for an H x W input, grids 8, 16, 32."""
    centres, strides = [], []
    for s in STRIDES:
        gy, gx = np.meshgrid(np.arange(height // s) + 0.5, np.arange(width // s) + 0.5, indexing="ij")
        centres.append(np.stack([gx.ravel(), gy.ravel()]))
        strides.append(np.full(gx.size, float(s)))
    return np.concatenate(centres, axis=1)[None].astype(np.float32), np.concatenate(strides)[None].astype(np.float32)


@dataclass
class _Head:
    """The parts of a YOLOv8 graph that prepare() rewrites."""

    output_concat: object  # NodeProto producing the output
    scores_name: str  # the Sigmoid output holding class scores, (B, C, A)
    strides: object  # TensorProto (1, A)
    anchors: list  # TensorProtos (1, 2, A)
    batch_shapes: list  # Reshape shape TensorProtos whose first entry pins the batch (1)
    anchor_count: int
    num_classes: int


def _find_head(model) -> _Head:
    from onnx import numpy_helper

    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ModelError("not a YOLOv8 detection export: expected one input and one output")
    producers = {out: node for node in graph.node for out in node.output}
    inits = {t.name: t for t in graph.initializer}
    out = producers.get(graph.output[0].name)
    if out is None or out.op_type != "Concat" or len(out.input) != 2:
        raise ModelError("not a YOLOv8 detection export: the output is not a Concat of boxes and class scores")
    boxes, scores = (producers.get(name) for name in out.input)
    if scores is not None and scores.op_type == "Slice":  # made person-only by prepare: the Sigmoid's channel 0
        scores = producers.get(scores.input[0])
    if boxes is None or boxes.op_type != "Mul" or scores is None or scores.op_type != "Sigmoid":
        raise ModelError("not a YOLOv8 detection export: the output is not Concat(Mul(boxes, strides), Sigmoid(scores))")
    stride_inits = [inits[n] for n in boxes.input if n in inits and len(inits[n].dims) == 2 and inits[n].dims[0] == 1]
    if len(stride_inits) != 1:
        raise ModelError("not a YOLOv8 detection export: no (1, anchors) stride constant multiplies the boxes")
    strides = stride_inits[0]
    anchor_count = int(strides.dims[1])
    anchors = [t for t in graph.initializer if list(t.dims) == [1, 2, anchor_count]]
    if not anchors:
        raise ModelError(f"not a YOLOv8 detection export: no (1, 2, {anchor_count}) anchor-centre constant")
    batch_shapes = []
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]])
            if shape.size and shape[0] == 1 and inits[node.input[1]] not in batch_shapes:
                batch_shapes.append(inits[node.input[1]])
    output_dims = [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim]
    if len(output_dims) != 3 or output_dims[2] != anchor_count:
        raise ModelError(f"not a YOLOv8 detection export: output shape {output_dims} does not end with {anchor_count} anchors")
    return _Head(out, scores.output[0], strides, anchors, batch_shapes, anchor_count, output_dims[1] - 4)


def is_yolov8_export(model) -> bool:
    """Whether prepare_model recognises the ModelProto as a YOLOv8 detection export."""
    try:
        _find_head(model)
    except ModelError:
        return False
    return True


def prepare(
    source: str | Path,
    target: str | Path,
    *,
    dynamic_batch: bool = False,
    input_size: tuple[int, int] | None = None,
    person_only: bool = False,
) -> Path:
    """Write a rewritten copy of the YOLOv8 model at `source` to `target`; returns target."""
    source, target = Path(source), Path(target)
    check_output(target, source)
    model = load_onnx(source, "model")
    try:
        model = prepare_model(model, dynamic_batch=dynamic_batch, input_size=input_size, person_only=person_only)
    except ModelError as exc:
        raise ModelError(f"{source}: {exc}") from None
    save_onnx(model, target)
    return target


def prepare_model(model, *, dynamic_batch: bool = False, input_size: tuple[int, int] | None = None,
                  person_only: bool = False):
    """The rewritten ModelProto (the argument is changed in place and returned)."""
    import onnx
    from onnx import helper, numpy_helper

    try:
        head = _find_head(model)
    except ModelError as exc:
        raise ModelError(f"{exc}; prepare only rewrites Ultralytics YOLOv8 detection exports") from None
    graph = model.graph
    in_dims = graph.input[0].type.tensor_type.shape.dim
    out_dims = graph.output[0].type.tensor_type.shape.dim
    anchor_count = head.anchor_count

    if input_size is not None:
        height, width = (int(v) for v in input_size)
        if height <= 0 or width <= 0 or height % 32 or width % 32:
            raise ModelError(f"input size {height}x{width} must be positive multiples of 32 (the coarsest grid's stride)")
        centres, strides = anchor_grid(height, width)
        anchor_count = centres.shape[2]
        for tensor in head.anchors:
            tensor.CopyFrom(numpy_helper.from_array(centres, tensor.name))
        head.strides.CopyFrom(numpy_helper.from_array(strides, head.strides.name))
        in_dims[2].dim_value, in_dims[3].dim_value = height, width
        out_dims[2].dim_value = anchor_count

    # Reshape shapes: let the batch follow the input (0 = copy that dimension) and the anchor count
    # follow the grids (-1 = infer); the channel dimensions in between stay.
    for tensor in head.batch_shapes:
        shape = numpy_helper.to_array(tensor).copy()
        if dynamic_batch:
            shape[0] = 0
        if shape[-1] == head.anchor_count:
            shape[-1] = -1
        tensor.CopyFrom(numpy_helper.from_array(shape, tensor.name))
    if dynamic_batch:
        for dims in (in_dims, out_dims):
            dims[0].dim_param = "batch"

    if person_only:
        names = [f"mctrt_person_{k}" for k in ("starts", "ends", "axes", "scores")]
        for name, value in zip(names[:3], ([0], [1], [1])):
            graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
        graph.node.insert(
            list(graph.node).index(head.output_concat),
            helper.make_node("Slice", [head.scores_name, *names[:3]], [names[3]], name="mctrt_person_only"),
        )
        head.output_concat.input[1] = names[3]
        out_dims[1].dim_value = 5

    del graph.value_info[:]  # intermediate shapes may pin the old batch or size; they are re-inferred
    try:
        onnx.checker.check_model(model)
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:
        raise ModelError(f"the rewritten graph does not check ({exc}); please report this model") from None
    return model
