"""The CUDA IoU kernel against the CPU implementation, and what happens without a GPU."""

import numpy as np
import pytest

from mctrt import _native, iou_xyxy
from mctrt.errors import CudaError


def random_boxes(rng, n):
    tl = rng.uniform(0, 1000, (n, 2))
    return np.c_[tl, tl + rng.uniform(0, 200, (n, 2))].astype(np.float32)


@pytest.mark.gpu
@pytest.mark.parametrize(("n", "m"), [(1, 1), (7, 300), (257, 33), (1000, 1000)])
def test_cuda_iou_equals_cpu(n, m):
    rng = np.random.default_rng(n * 1000 + m)
    a, b = random_boxes(rng, n), random_boxes(rng, m)
    b[: min(n, m)] = a[: min(n, m)]  # some exact matches
    np.testing.assert_array_equal(_native.cuda.iou_xyxy(a, b), iou_xyxy(a, b))


@pytest.mark.gpu
def test_cuda_iou_of_empty_sets_is_empty():
    assert _native.cuda.iou_xyxy(np.empty((0, 4), np.float32), random_boxes(np.random.default_rng(0), 3)).shape == (0, 3)


@pytest.mark.gpu
def test_cuda_iou_rejects_bad_input_like_the_cpu():
    with pytest.raises(ValueError, match=r"a must be a float32 numpy array of shape \(N, 4\)"):
        _native.cuda.iou_xyxy(np.zeros((2, 4)), np.zeros((2, 4), np.float32))


def test_without_a_gpu_the_kernel_raises_cuda_error_saying_why():
    status = _native.cuda_status()
    if not status.compiled or status.usable:
        pytest.skip("needs the CUDA module on a machine without a usable GPU")
    boxes = random_boxes(np.random.default_rng(0), 2)
    with pytest.raises(CudaError, match=r"^csrc/include/mctrt/cuda/device_buffer\.hpp:\d+: cudaMalloc.* failed: cuda\w+ \(.+\)$"):
        _native.cuda.iou_xyxy(boxes, boxes)
