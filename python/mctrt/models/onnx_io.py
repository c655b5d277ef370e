"""ONNX files as mctrt reads them: one loaded with an error that names the file, and the shapes of
its one input and its outputs (which the backends and the model classes check)."""

from __future__ import annotations

from pathlib import Path

from mctrt.errors import ModelError


def load_onnx(path: str | Path, what: str):
    """The ONNX ModelProto at `path`, or ModelError naming the file (`what`, e.g. "detector model")."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{what} {path} does not exist; give the path of its .onnx file")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises its own types
        raise ModelError(f"{what} {path} is not a readable ONNX file ({exc}); give an .onnx export of the model") from None
    if not model.graph.node:  # an empty file parses as an empty model
        raise ModelError(f"{what} {path} is not an ONNX model (it holds no graph); give an .onnx export of the model")
    return model


def io_shapes(model) -> tuple[tuple, list[tuple]]:
    """(input shape, output shapes) of a one-input ONNX graph, dims as ints or their symbolic names."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ModelError(f"it has {len(inputs)} inputs; a detector or embedder has one image input")

    def dims(value) -> tuple:
        return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in value.type.tensor_type.shape.dim)

    return dims(inputs[0]), [dims(o) for o in model.graph.output]
