// IoU matrix kernel: one thread per (i, j) pair, in the same order of operations as
// mctrt::iou_pair. Products are rounded on their own (__fmul_rn) so that nvcc cannot fuse them into
// multiply-adds, which keeps the result equal to the CPU's.
#include "mctrt/cuda/check.hpp"
#include "mctrt/cuda/device_buffer.hpp"
#include "mctrt/cuda/iou.hpp"

namespace mctrt::cuda {
namespace {

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

__global__ void iou_kernel(const float4* __restrict__ a, int n, const float4* __restrict__ b, int m,
                           float* __restrict__ out) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  const int i = blockIdx.y * blockDim.y + threadIdx.y;
  if (i >= n || j >= m) return;
  const float4 p = a[i];
  const float4 q = b[j];
  const float iw = fminf(p.z, q.z) - fmaxf(p.x, q.x);
  const float ih = fminf(p.w, q.w) - fmaxf(p.y, q.y);
  float iou = 0.f;
  if (iw > 0.f && ih > 0.f) {
    const float inter = __fmul_rn(iw, ih);
    const float area_p = __fmul_rn(p.z - p.x, p.w - p.y);
    const float area_q = __fmul_rn(q.z - q.x, q.w - q.y);
    const float uni = area_p + area_q - inter;
    iou = uni > 0.f ? __fdiv_rn(inter, uni) : 0.f;
  }
  out[std::size_t(i) * m + j] = iou;
}

}  // namespace

void iou_matrix_async(const float* a, std::size_t n, const float* b, std::size_t m, float* out, cudaStream_t stream) {
  if (n == 0 || m == 0) return;
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid(unsigned((m + kBlockX - 1) / kBlockX), unsigned((n + kBlockY - 1) / kBlockY));
  iou_kernel<<<grid, block, 0, stream>>>(reinterpret_cast<const float4*>(a), int(n),
                                         reinterpret_cast<const float4*>(b), int(m), out);
  MCTRT_CUDA_CHECK_LAUNCH();
}

void iou_matrix_host(const float* a, std::size_t n, const float* b, std::size_t m, float* out) {
  if (n == 0 || m == 0) return;
  DeviceBuffer<float> d_a(4 * n), d_b(4 * m), d_out(n * m);
  cudaStream_t stream;
  MCTRT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  try {
    MCTRT_CUDA_CHECK(cudaMemcpyAsync(d_a.data(), a, 4 * n * sizeof(float), cudaMemcpyHostToDevice, stream));
    MCTRT_CUDA_CHECK(cudaMemcpyAsync(d_b.data(), b, 4 * m * sizeof(float), cudaMemcpyHostToDevice, stream));
    iou_matrix_async(d_a.data(), n, d_b.data(), m, d_out.data(), stream);
    MCTRT_CUDA_CHECK(cudaMemcpyAsync(out, d_out.data(), n * m * sizeof(float), cudaMemcpyDeviceToHost, stream));
    MCTRT_CUDA_CHECK(cudaStreamSynchronize(stream));
  } catch (...) {
    cudaStreamDestroy(stream);
    throw;
  }
  MCTRT_CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace mctrt::cuda
