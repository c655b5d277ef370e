// Owning, grow-only CUDA allocations: reserve() reallocates only when asked for more than it holds,
// so a buffer kept across frames allocates once. DeviceBuffer lives on the GPU; PinnedBuffer is
// page-locked host memory, which asynchronous copies need to be truly asynchronous.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "mctrt/cuda/check.hpp"

namespace mctrt::cuda {

struct DeviceMemory {
  static constexpr const char* kAllocate = "cudaMalloc";
  static cudaError_t allocate(void** p, std::size_t bytes) { return cudaMalloc(p, bytes); }
  static void free(void* p) noexcept { cudaFree(p); }
};
struct PinnedMemory {
  static constexpr const char* kAllocate = "cudaMallocHost";
  static cudaError_t allocate(void** p, std::size_t bytes) { return cudaMallocHost(p, bytes); }
  static void free(void* p) noexcept { cudaFreeHost(p); }
};

template <typename T, typename Memory>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  explicit CudaBuffer(std::size_t count) { reserve(count); }
  ~CudaBuffer() { release(); }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
  CudaBuffer(CudaBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }

  void reserve(std::size_t count) {
    if (count <= capacity_) return;
    release();
    check(Memory::allocate(reinterpret_cast<void**>(&data_), count * sizeof(T)), Memory::kAllocate, __FILE__, __LINE__);
    capacity_ = count;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  void release() noexcept {
    if (data_ != nullptr) Memory::free(data_);  // no throw from a destructor; a failed free leaks at worst
    data_ = nullptr;
    capacity_ = 0;
  }
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

template <typename T>
using DeviceBuffer = CudaBuffer<T, DeviceMemory>;
template <typename T>
using PinnedBuffer = CudaBuffer<T, PinnedMemory>;

}  // namespace mctrt::cuda
