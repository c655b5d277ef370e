"""ONNX files as mctrt reads and writes them: one loaded with an error that names the file, the shapes
of its one input and its outputs (which the backends and the model classes check), and an output path
checked before the slow work that makes the model, then written in one step."""

from __future__ import annotations

import os
from pathlib import Path

from mctrt.errors import MctrtError, ModelError
from mctrt.io.paths import why_unwritable, write_in_one_step


def check_model_file(path: str | Path, what: str) -> Path:
    """`path` as a Path, or ModelError when it is no file (checked before anything slow loads)."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{what} {path} is a folder; give an .onnx model file")
    if not path.is_file():
        raise ModelError(f"{what} {path} does not exist; give the path of its .onnx file")
    return path


def load_onnx(path: str | Path, what: str):
    """The ONNX ModelProto at `path`, or ModelError naming the file (`what`, e.g. "detector model")."""
    import onnx

    path = check_model_file(path, what)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises its own types
        raise ModelError(f"{what} {path} is not a readable ONNX file ({exc}); give an .onnx export of the model") from None
    if not model.graph.node:  # an empty file parses as an empty model
        raise ModelError(f"{what} {path} is not an ONNX model (it holds no graph); give an .onnx export of the model")
    return model


def check_output(target: str | Path, source: str | Path) -> None:
    """MctrtError unless a model made from `source` can be written to `target`: not the source itself,
    and a file that can be written or made (io/paths.py). Call it before the work."""
    target, source = Path(target), Path(source)
    if target.is_file() and source.is_file() and os.path.samefile(target, source):
        raise MctrtError(f"cannot write {target}: it is the input model {source}, which would be lost; "
                         "give a different output path")
    if (why := why_unwritable(target)) is not None:
        raise MctrtError(f"cannot write {target}: {why}; give the path of an .onnx file in a folder you can write to")


def save_onnx(model, target: str | Path) -> None:
    """Write the ModelProto to `target` through a temporary file beside it, so that a run that fails
    part way leaves no half-written model (nor harms one already there)."""
    import onnx

    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_in_one_step(target, lambda temporary: onnx.save(model, str(temporary)))
    except OSError as exc:  # a full disk, or a path changed since check_output
        raise MctrtError(f"cannot write {target}: {exc.strerror or exc}; "
                         "give an output path you can write to, with room for the model") from None


def io_shapes(model) -> tuple[tuple, list[tuple]]:
    """(input shape, output shapes) of a one-input ONNX graph, dims as ints or their symbolic names."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ModelError(f"it has {len(inputs)} inputs; a detector or embedder has one image input")

    def dims(value) -> tuple:
        return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in value.type.tensor_type.shape.dim)

    return dims(inputs[0]), [dims(o) for o in model.graph.output]
