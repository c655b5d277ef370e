"""Convert an ONNX graph into a PyTorch module (a torch.fx GraphModule), for the torch backend.

Covers the operators of the YOLOv8, YOLOX and OSNet exports (and a few neighbours); any other
operator, or an attribute whose meaning differs from what is converted, raises ModelError naming it.

Values in the ONNX graph become one of:
- a tensor (an fx node computing a torch.Tensor; float weights become buffers, so .half() and .to()
  move them with the module);
- a constant known now (an int64 initializer or Constant: shapes, axes, slice bounds);
- a shape computed at run time (Shape, and Gather/Unsqueeze/Concat on it): a Python list of ints, so
  that a dynamic batch flows through Reshape without a tensor round trip.
"""

from __future__ import annotations

import operator

import numpy as np

from mctrt.errors import ModelError


_UNARY = {"Relu": "relu", "Sigmoid": "sigmoid", "Exp": "exp", "Tanh": "tanh", "Sqrt": "sqrt"}  # torch functions
_BINARY = {"Add": operator.add, "Sub": operator.sub, "Mul": operator.mul, "Div": operator.truediv}


class _Const:
    """A value known at conversion time."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = np.asarray(value)

    def ints(self) -> list[int]:
        return [int(v) for v in self.value.reshape(-1)]


def _shape(x):
    return list(x.shape)


def _pick(values, indices):
    return [values[i] for i in indices]


def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _concat_lists(*parts):
    return [int(v) for p in parts for v in _as_list(p)]


def _reshape(x, shape):
    # ONNX: 0 copies the input's dimension (allowzero = 0), -1 is inferred.
    return x.reshape([x.shape[i] if d == 0 else d for i, d in enumerate(shape)])


def _softmax_opset12(x, axis):
    # Before opset 13 Softmax flattens to 2-D at `axis`; over the last axis that is the plain softmax.
    import torch

    axis = axis % x.dim()
    if axis == x.dim() - 1:
        return torch.softmax(x, axis)
    return torch.softmax(x.flatten(axis), axis).reshape(x.shape)


def _slice(x, starts, ends, axes, steps):
    index = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[axis] = slice(start, end, step)
    return x[tuple(index)]


def _gemm(a, b, c, alpha, beta, trans_a, trans_b):
    a = a.t() if trans_a else a
    b = b.t() if trans_b else b
    y = a @ b
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c * beta if beta != 1.0 else c)
    return y


class _Converter:
    def __init__(self, model) -> None:
        import torch
        from torch import fx

        self.torch = torch
        self.root = torch.nn.Module()
        self.graph = fx.Graph()
        self.values: dict[str, object] = {}
        self.runtime_shapes: set = set()  # fx nodes that hold Python lists/ints, not tensors
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.buffers = 0

    # --- values -------------------------------------------------------------------------------------
    def tensor(self, name: str):
        """The value as a tensor (constants become buffers)."""
        value = self.values[name]
        if isinstance(value, _Const):
            array = value.value
            if array.dtype == np.float64:
                array = array.astype(np.float32)
            buffer = f"const_{self.buffers}"
            self.buffers += 1
            self.root.register_buffer(buffer, self.torch.from_numpy(np.array(array, copy=True)))
            value = self.graph.get_attr(buffer)
            self.values[name] = value
        return value

    def const(self, node, index: int, what: str) -> _Const | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        value = self.values[node.input[index]]
        if not isinstance(value, _Const):
            raise ModelError(f"{node.op_type} node {node.name!r}: its {what} must be a constant to convert to PyTorch")
        return value

    def operand(self, name: str):
        """A binary operator's operand: a Python scalar for a float scalar constant, else a tensor."""
        value = self.values[name]
        if isinstance(value, _Const) and value.value.size == 1 and value.value.ndim == 0 and value.value.dtype.kind == "f":
            return float(value.value)
        return self.tensor(name)

    def call(self, fn, *args, **kwargs):
        return self.graph.call_function(fn, args, kwargs)

    # --- conversion ---------------------------------------------------------------------------------
    def run(self, model):
        from onnx import helper, numpy_helper

        graph = model.graph
        initializers = {t.name for t in graph.initializer}
        for tensor in graph.initializer:
            self.values[tensor.name] = _Const(numpy_helper.to_array(tensor))
        inputs = [i for i in graph.input if i.name not in initializers]
        for i in inputs:
            self.values[i.name] = self.graph.placeholder(_python_name(i.name))
        for node in graph.node:
            if node.domain not in ("", "ai.onnx"):
                raise ModelError(f"operator {node.domain}.{node.op_type} (node {node.name!r}) has no PyTorch conversion")
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if node.op_type in _UNARY or node.op_type in _BINARY:
                outputs = self.elementwise(node)
            elif hasattr(self, f"op_{node.op_type}"):
                outputs = getattr(self, f"op_{node.op_type}")(node, attrs)
            else:
                raise ModelError(f"operator {node.op_type} (node {node.name!r}) has no PyTorch conversion")
            for name, value in zip(node.output, outputs if isinstance(outputs, list) else [outputs]):
                self.values[name] = value
        outputs = [self.tensor(o.name) for o in graph.output]
        self.graph.output(tuple(outputs))
        from torch import fx

        return fx.GraphModule(self.root, self.graph)

    # --- operators ----------------------------------------------------------------------------------
    def op_Constant(self, node, attrs):
        from onnx import numpy_helper

        if "value" not in attrs:
            raise ModelError(f"Constant node {node.name!r}: only the 'value' form converts to PyTorch")
        return _Const(numpy_helper.to_array(attrs["value"]))

    def op_Identity(self, node, attrs):
        return self.values[node.input[0]]

    def op_Conv(self, node, attrs):
        F = self.torch.nn.functional
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ModelError(f"Conv node {node.name!r}: auto_pad is not converted; export with explicit pads")
        x = self.tensor(node.input[0])
        weight = self.tensor(node.input[1])
        bias = self.tensor(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        kernel = len(attrs.get("kernel_shape", [0, 0]))
        pads = list(attrs.get("pads", [0] * 2 * kernel))
        begin, end = pads[:kernel], pads[kernel:]
        if begin != end:  # asymmetric: pad explicitly (F.pad takes the last dimension first)
            x = self.call(F.pad, x, [p for b, e in zip(reversed(begin), reversed(end)) for p in (b, e)])
            begin = [0] * kernel
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(kernel)
        if conv is None:
            raise ModelError(f"Conv node {node.name!r}: {kernel}-D convolution is not converted")
        return self.call(
            conv, x, weight, bias, stride=list(attrs.get("strides", [1] * kernel)), padding=begin,
            dilation=list(attrs.get("dilations", [1] * kernel)), groups=int(attrs.get("group", 1)),
        )

    def _pool(self, node, attrs, fn, **extra):
        kernel = list(attrs["kernel_shape"])
        pads = list(attrs.get("pads", [0] * 2 * len(kernel)))
        if len(kernel) != 2 or pads[:2] != pads[2:] or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ModelError(f"{node.op_type} node {node.name!r}: only 2-D pooling with symmetric pads converts")
        return self.call(
            fn, self.tensor(node.input[0]), kernel, stride=list(attrs.get("strides", [1, 1])), padding=pads[:2],
            ceil_mode=bool(attrs.get("ceil_mode", 0)), **extra,
        )

    def op_MaxPool(self, node, attrs):
        if len(node.output) > 1 and node.output[1]:
            raise ModelError(f"MaxPool node {node.name!r}: the indices output is not converted")
        return self._pool(node, attrs, self.torch.nn.functional.max_pool2d, dilation=list(attrs.get("dilations", [1, 1])))

    def op_AveragePool(self, node, attrs):
        return self._pool(
            node, attrs, self.torch.nn.functional.avg_pool2d, count_include_pad=bool(attrs.get("count_include_pad", 0))
        )

    def op_GlobalAveragePool(self, node, attrs):
        return self.call(self.torch.mean, self.tensor(node.input[0]), dim=[2, 3], keepdim=True)

    def elementwise(self, node):
        if node.op_type in _UNARY:
            return self.call(getattr(self.torch, _UNARY[node.op_type]), self.tensor(node.input[0]))
        return self.call(_BINARY[node.op_type], self.operand(node.input[0]), self.operand(node.input[1]))

    def op_Clip(self, node, attrs):
        low = self.const(node, 1, "min")
        high = self.const(node, 2, "max")
        low = float(low.value) if low is not None else float(attrs.get("min", -np.inf))
        high = float(high.value) if high is not None else float(attrs.get("max", np.inf))
        return self.call(self.torch.clamp, self.tensor(node.input[0]), low, high)

    def op_Softmax(self, node, attrs):
        axis = int(attrs.get("axis", 1 if self.opset < 13 else -1))
        if self.opset < 13:
            return self.call(_softmax_opset12, self.tensor(node.input[0]), axis)
        return self.call(self.torch.softmax, self.tensor(node.input[0]), axis)

    def op_Concat(self, node, attrs):
        values = [self.values[n] for n in node.input]
        if any(v in self.runtime_shapes for v in values if not isinstance(v, _Const)):
            out = self.call(_concat_lists, *[v.ints() if isinstance(v, _Const) else v for v in values])
            self.runtime_shapes.add(out)
            return out
        if all(isinstance(v, _Const) for v in values):
            return _Const(np.concatenate([v.value for v in values], axis=int(attrs["axis"])))
        return self.call(self.torch.cat, [self.tensor(n) for n in node.input], int(attrs["axis"]))

    def op_Split(self, node, attrs):
        axis = int(attrs.get("axis", 0))
        sizes = attrs.get("split")
        given = self.const(node, 1, "split sizes")
        if given is not None:
            sizes = given.ints()
        if sizes is None:
            raise ModelError(f"Split node {node.name!r}: only explicit split sizes are converted")
        parts = self.call(self.torch.split, self.tensor(node.input[0]), list(sizes), axis)
        return [self.call(operator.getitem, parts, i) for i in range(len(node.output))]

    def op_Slice(self, node, attrs):
        if self.opset < 10:
            starts, ends = attrs["starts"], attrs["ends"]
            axes = attrs.get("axes", list(range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts, ends = self.const(node, 1, "starts").ints(), self.const(node, 2, "ends").ints()
            axes_c, steps_c = self.const(node, 3, "axes"), self.const(node, 4, "steps")
            axes = axes_c.ints() if axes_c is not None else list(range(len(starts)))
            steps = steps_c.ints() if steps_c is not None else [1] * len(starts)
        if any(s <= 0 for s in steps):
            raise ModelError(f"Slice node {node.name!r}: negative steps are not converted")
        return self.call(_slice, self.tensor(node.input[0]), starts, ends, axes, steps)

    def op_Reshape(self, node, attrs):
        if int(attrs.get("allowzero", 0)):
            raise ModelError(f"Reshape node {node.name!r}: allowzero=1 is not converted")
        shape = self.values[node.input[1]]
        shape = shape.ints() if isinstance(shape, _Const) else shape
        return self.call(_reshape, self.tensor(node.input[0]), shape)

    def op_Flatten(self, node, attrs):
        axis = int(attrs.get("axis", 1))
        x = self.tensor(node.input[0])
        if axis == 0:
            return self.call(self.torch.reshape, x, [1, -1])
        return self.call(self.torch.flatten, self.call(self.torch.flatten, x, axis), 0, axis - 1)

    def op_Transpose(self, node, attrs):
        return self.call(self.torch.permute, self.tensor(node.input[0]), list(attrs["perm"]))

    def op_Resize(self, node, attrs):
        mode = _text(attrs.get("mode", "nearest"))
        transform = _text(attrs.get("coordinate_transformation_mode", "half_pixel"))
        nearest = _text(attrs.get("nearest_mode", "round_prefer_floor"))
        if (mode, transform, nearest) != ("nearest", "asymmetric", "floor"):
            raise ModelError(
                f"Resize node {node.name!r}: mode {mode}/{transform}/{nearest} is not converted "
                "(only nearest/asymmetric/floor, as YOLO exports use)"
            )
        scales, sizes = self.const(node, 2, "scales"), self.const(node, 3, "sizes")
        x = self.tensor(node.input[0])
        if scales is not None and scales.value.size:
            return self.call(self.torch.nn.functional.interpolate, x, scale_factor=[float(s) for s in scales.value[2:]],
                             mode="nearest")
        if sizes is not None:
            return self.call(self.torch.nn.functional.interpolate, x, size=sizes.ints()[2:], mode="nearest")
        raise ModelError(f"Resize node {node.name!r}: neither scales nor sizes is given")

    def op_Shape(self, node, attrs):
        out = self.call(_shape, self.tensor(node.input[0]))
        if "start" in attrs or "end" in attrs:  # opset 15: a slice of the shape
            out = self.call(operator.getitem, out, slice(attrs.get("start", 0), attrs.get("end")))
        self.runtime_shapes.add(out)
        return out

    def op_Gather(self, node, attrs):
        data = self.values[node.input[0]]
        index = self.const(node, 1, "indices")
        axis = int(attrs.get("axis", 0))
        if isinstance(data, _Const):
            return _Const(np.take(data.value, index.value, axis=axis))
        if data in self.runtime_shapes:
            if index.value.ndim == 0:
                out = self.call(operator.getitem, data, int(index.value))
            else:
                out = self.call(_pick, data, index.ints())
            self.runtime_shapes.add(out)
            return out
        if index.value.ndim == 0:
            return self.call(self.torch.select, self.tensor(node.input[0]), axis, int(index.value))
        return self.call(self.torch.index_select, self.tensor(node.input[0]), axis, self.tensor(node.input[1]))

    def op_Unsqueeze(self, node, attrs):
        axes = attrs.get("axes")
        if axes is None:
            axes = self.const(node, 1, "axes").ints()
        data = self.values[node.input[0]]
        if isinstance(data, _Const):
            return _Const(np.expand_dims(data.value, tuple(axes)))
        if data in self.runtime_shapes:
            out = self.call(_as_list, data)
            self.runtime_shapes.add(out)
            return out
        x = self.tensor(node.input[0])
        for axis in sorted(axes):
            x = self.call(self.torch.unsqueeze, x, axis)
        return x

    def op_Gemm(self, node, attrs):
        c = self.tensor(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        return self.call(
            _gemm, self.tensor(node.input[0]), self.tensor(node.input[1]), c, float(attrs.get("alpha", 1.0)),
            float(attrs.get("beta", 1.0)), bool(attrs.get("transA", 0)), bool(attrs.get("transB", 0)),
        )

    def op_BatchNormalization(self, node, attrs):
        if len(node.output) > 1 and any(node.output[1:]):
            raise ModelError(f"BatchNormalization node {node.name!r}: training outputs are not converted")
        x, scale, bias, mean, var = (self.tensor(n) for n in node.input[:5])
        return self.call(self.torch.nn.functional.batch_norm, x, mean, var, scale, bias, False, 0.0,
                         float(attrs.get("epsilon", 1e-5)))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _python_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"input_{cleaned}"


def onnx_to_torch(model):
    """A torch.fx.GraphModule computing the ONNX `model` (a ModelProto); it returns a tuple of outputs."""
    return _Converter(model).run(model)
