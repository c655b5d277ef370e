// The detector's and re-ID's pre- and post-processing on the GPU, with the same results as the C++
// core (preprocess.hpp, nms.hpp): letterbox and crop-resize write straight into a model's input
// buffer (float32 or float16), and decode + NMS read its raw output where it lies. Everything is
// enqueued on the caller's stream; the buffers grow to the largest batch seen and are reused.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "mctrt/cuda/device_buffer.hpp"
#include "mctrt/nms.hpp"
#include "mctrt/preprocess.hpp"

namespace mctrt::cuda {

enum class InputType { Float32, Float16 };

// Host data for one batch, gathered into page-locked memory and sent with one copy. The buffers are
// reused batch after batch: host() first waits until the previous batch's work is done with them.
class Staging {
 public:
  Staging();
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  // Room for `bytes` on the host.
  std::uint8_t* host(std::size_t bytes);
  // Copies the first `bytes` of host() to the device; returns the device copy.
  const std::uint8_t* upload(std::size_t bytes, cudaStream_t stream);
  // Marks the end of the work on `stream` that reads the device copy.
  void release_after(cudaStream_t stream);

 private:
  PinnedBuffer<std::uint8_t> host_;
  DeviceBuffer<std::uint8_t> device_;
  cudaEvent_t done_ = nullptr;
};

// Letterbox each frame into `out`, (B, 3, spec.out_h, spec.out_w) of `type` on the device, as
// mctrt::letterbox does. Returns where each frame landed.
std::vector<LetterboxTransform> letterbox_async(Staging& staging, const std::vector<ImageView>& images,
                                                const LetterboxSpec& spec, void* out, InputType type,
                                                cudaStream_t stream);

// One re-ID crop: a box of images[image].
struct CropBox {
  int image;
  float xyxy[4];
};

// Cut, resize and normalise each box into `out`, (boxes, 3, spec.out_h, spec.out_w) of `type`, as
// mctrt::crop_resize does.
void crop_resize_async(Staging& staging, const std::vector<ImageView>& images, const std::vector<CropBox>& boxes,
                       const CropSpec& spec, void* out, InputType type, cudaStream_t stream);

// What a raw detector output is and what to keep from it.
struct PostprocessSpec {
  bool yolov8 = true;  // else YOLOX
  int num_anchors = 0;
  int num_classes = 0;
  int input_h = 640, input_w = 640;
  DecodeSpec decode;
  float iou_threshold = 0.45f;
  std::size_t max_det = 300;
};

// Decode, class filter and per-class greedy NMS of a batch of raw outputs on the device: every
// anchor decoded in parallel, candidates sorted by score (ties: lower anchor first, as the C++ core
// orders them), an IoU bit mask per candidate pair computed in parallel, then the greedy pass over
// the mask on the host. Returns each image's kept boxes in model-input pixels, best first.
class Postprocessor {
 public:
  std::vector<DetectionList> run(const float* raw, int batch, const PostprocessSpec& spec, cudaStream_t stream);

 private:
  DeviceBuffer<Candidate> candidates_, sorted_;
  DeviceBuffer<unsigned long long> keys_, keys_sorted_;
  DeviceBuffer<int> slots_, slots_sorted_, counts_, offsets_;
  DeviceBuffer<std::uint8_t> allowed_, sort_scratch_;
  DeviceBuffer<unsigned long long> masks_;
  PinnedBuffer<int> host_counts_, host_offsets_;
  PinnedBuffer<Candidate> host_sorted_;
  PinnedBuffer<unsigned long long> host_masks_;
};

}  // namespace mctrt::cuda
