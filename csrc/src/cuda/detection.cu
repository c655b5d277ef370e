// Pre- and post-processing kernels. The sampling grid (linear_tap), the decode of one anchor and the
// IoU are the C++ core's own inline functions, compiled for the device too; this file is built with
// --fmad=false so that nvcc rounds them as the CPU does.
#include <cub/device/device_segmented_radix_sort.cuh>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "mctrt/boxes.hpp"
#include "mctrt/cuda/check.hpp"
#include "mctrt/cuda/detection.hpp"
#include "mctrt/parallel.hpp"

namespace mctrt::cuda {
namespace {

constexpr std::size_t kAlign = 256;  // each staged item starts on its own 256-byte boundary
constexpr int kMaskBits = 64;        // NMS compares candidates in tiles of 64 x 64

std::size_t aligned(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

__device__ inline void store(float* p, float v) { *p = v; }
__device__ inline void store(__half* p, float v) { *p = __float2half_rn(v); }

// A frame's bytes in the staged upload (rows packed: w * 3 bytes each), and where it goes.
struct LetterboxJob {
  std::size_t offset;
  int h, w;
  int new_h, new_w, left, top;
};
struct CropJob {
  std::size_t offset;
  int h, w;
  int x0, y0, x1, y1;  // crop_rect of the box
};

// Bilinear blend of source channel `c` at taps (tx, ty) of a packed BGR image.
__device__ inline float sample(const std::uint8_t* image, int w, Tap tx, Tap ty, int c) {
  const std::size_t stride = std::size_t(w) * 3;
  const std::uint8_t* r0 = image + std::size_t(ty.i0) * stride;
  const std::uint8_t* r1 = image + std::size_t(ty.i1) * stride;
  return bilinear(r0[3 * tx.i0 + c], r0[3 * tx.i1 + c], r1[3 * tx.i0 + c], r1[3 * tx.i1 + c], tx.w1, ty.w1);
}

// One thread per output pixel (all three channels), blockIdx.z = image.
template <typename T>
__global__ void letterbox_kernel(const std::uint8_t* staged, const LetterboxJob* jobs, LetterboxSpec spec, T* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= spec.out_w || y >= spec.out_h) return;
  const LetterboxJob job = jobs[blockIdx.z];
  const std::size_t plane = std::size_t(spec.out_h) * std::size_t(spec.out_w);
  T* o = out + std::size_t(blockIdx.z) * 3 * plane + std::size_t(y) * std::size_t(spec.out_w) + std::size_t(x);
  const int rx = x - job.left, ry = y - job.top;
  if (rx < 0 || ry < 0 || rx >= job.new_w || ry >= job.new_h) {
    const float pad = spec.pad_value * spec.scale;
    store(o, pad);
    store(o + plane, pad);
    store(o + 2 * plane, pad);
    return;
  }
  const Tap tx = linear_tap(rx, job.w, job.new_w), ty = linear_tap(ry, job.h, job.new_h);
  const std::uint8_t* image = staged + job.offset;
  const int c0 = spec.to_rgb ? 2 : 0, c2 = spec.to_rgb ? 0 : 2;  // output channel -> BGR source channel
  store(o, sample(image, job.w, tx, ty, c0) * spec.scale);
  store(o + plane, sample(image, job.w, tx, ty, 1) * spec.scale);
  store(o + 2 * plane, sample(image, job.w, tx, ty, c2) * spec.scale);
}

// One thread per output pixel of one crop (blockIdx.z = crop).
template <typename T>
__global__ void crop_kernel(const std::uint8_t* staged, const CropJob* jobs, CropSpec spec, T* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= spec.out_w || y >= spec.out_h) return;
  const CropJob job = jobs[blockIdx.z];
  const int x0 = job.x0, y0 = job.y0, x1 = job.x1, y1 = job.y1;
  const Tap tx = linear_tap(x, x1 - x0, spec.out_w), ty = linear_tap(y, y1 - y0, spec.out_h);
  const std::uint8_t* image = staged + job.offset + (std::size_t(y0) * std::size_t(job.w) + std::size_t(x0)) * 3;
  const std::size_t plane = std::size_t(spec.out_h) * std::size_t(spec.out_w);
  T* o = out + std::size_t(blockIdx.z) * 3 * plane + std::size_t(y) * std::size_t(spec.out_w) + std::size_t(x);
  for (int c = 0; c < 3; ++c) {  // RGB out of BGR
    const float gain = 1.f / (255.f * spec.std[c]), bias = -spec.mean[c] / spec.std[c];
    store(o + std::size_t(c) * plane, sample(image, job.w, tx, ty, 2 - c) * gain + bias);
  }
}

// Packs the frames (and after them the jobs, each given its frame's offset) into staging memory and
// uploads them; the frames are copied by several threads.
template <typename Job>
const std::uint8_t* stage_frames(Staging& staging, const std::vector<ImageView>& images, std::vector<Job>& jobs,
                                 const std::vector<std::size_t>& job_frame, std::size_t* jobs_offset,
                                 cudaStream_t stream) {
  std::vector<std::size_t> frame_offset(images.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    frame_offset[i] = total;
    total += aligned(std::size_t(images[i].h) * std::size_t(images[i].w) * 3);
  }
  for (std::size_t j = 0; j < jobs.size(); ++j) jobs[j].offset = frame_offset[job_frame[j]];
  *jobs_offset = total;
  total += jobs.size() * sizeof(Job);
  std::uint8_t* host = staging.host(total);
  parallel_for(images.size(), [&](std::size_t i) {
    const ImageView& v = images[i];
    const std::size_t row = std::size_t(v.w) * 3;
    for (int y = 0; y < v.h; ++y) std::memcpy(host + frame_offset[i] + std::size_t(y) * row, v.data + std::size_t(y) * v.row_stride, row);
  });
  std::memcpy(host + *jobs_offset, jobs.data(), jobs.size() * sizeof(Job));
  return staging.upload(total, stream);
}

dim3 pixel_grid(int out_w, int out_h, std::size_t count, dim3 block) {
  return dim3(unsigned((out_w + int(block.x) - 1) / int(block.x)), unsigned((out_h + int(block.y) - 1) / int(block.y)),
              unsigned(count));
}

// Stages the frames and jobs, then runs the kernel over spec.out_w x spec.out_h pixels of every job,
// its float or half instance as `type` says.
template <typename Job, typename Spec>
void stage_and_launch(void (*kernel_f32)(const std::uint8_t*, const Job*, Spec, float*),
                      void (*kernel_f16)(const std::uint8_t*, const Job*, Spec, __half*), Staging& staging,
                      const std::vector<ImageView>& images, std::vector<Job>& jobs,
                      const std::vector<std::size_t>& job_frame, const Spec& spec, void* out, InputType type,
                      cudaStream_t stream) {
  std::size_t jobs_offset = 0;
  const std::uint8_t* staged = stage_frames(staging, images, jobs, job_frame, &jobs_offset, stream);
  const auto* d_jobs = reinterpret_cast<const Job*>(staged + jobs_offset);
  const dim3 block(32, 8);
  const dim3 grid = pixel_grid(spec.out_w, spec.out_h, jobs.size(), block);
  if (type == InputType::Float16)
    kernel_f16<<<grid, block, 0, stream>>>(staged, d_jobs, spec, static_cast<__half*>(out));
  else
    kernel_f32<<<grid, block, 0, stream>>>(staged, d_jobs, spec, static_cast<float*>(out));
  MCTRT_CUDA_CHECK_LAUNCH();
  staging.release_after(stream);
}

// --- post-processing ---------------------------------------------------------------------------------

// Candidates of image b land at b * num_anchors + slot; their sort key is score (non-negative, being
// at least conf_threshold >= 0, so its bits order as integers) then the inverted anchor index, so
// that a descending sort puts ties in anchor order.
__global__ void decode_kernel(const float* raw, PostprocessSpec spec, const std::uint8_t* allowed, Candidate* candidates,
                              unsigned long long* keys, int* slots, int* counts) {
  const int a = blockIdx.x * blockDim.x + threadIdx.x;
  const int b = blockIdx.y;
  if (a >= spec.num_anchors) return;
  const std::size_t per_image = std::size_t(spec.num_anchors) * std::size_t((spec.yolov8 ? 4 : 5) + spec.num_classes);
  const float* r = raw + std::size_t(b) * per_image;
  Candidate c;
  bool found;
  if (spec.yolov8) {
    found = decode_yolov8_anchor(r, a, spec.num_anchors, spec.num_classes, allowed, spec.decode.conf_threshold, &c);
  } else {
    int gx = 0, gy = 0, stride = 0;
    found = yolox_cell(a, spec.input_h, spec.input_w, &gx, &gy, &stride) &&
            decode_yolox_anchor(r, a, spec.num_classes, gx, gy, stride, allowed, spec.decode.conf_threshold, &c);
  }
  if (!found) return;
  const int slot = atomicAdd(&counts[b], 1);
  const std::size_t i = std::size_t(b) * std::size_t(spec.num_anchors) + std::size_t(slot);
  candidates[i] = c;
  keys[i] = (static_cast<unsigned long long>(__float_as_uint(c.score)) << 32) | (0xFFFFFFFFu - unsigned(a));
  slots[i] = slot;
}

__global__ void gather_kernel(const Candidate* candidates, const int* slots_sorted, const int* counts, int num_anchors,
                              Candidate* sorted) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  const int b = blockIdx.y;
  if (k >= counts[b]) return;
  const std::size_t base = std::size_t(b) * std::size_t(num_anchors);
  sorted[base + k] = candidates[base + std::size_t(slots_sorted[base + k])];
}

// Bit j % 64 of masks[b][i][j / 64] is set when candidate j (sorted after i) has i's class and
// overlaps it by more than the threshold. One block of 64 threads per (row tile, column tile, image).
__global__ void nms_mask_kernel(const Candidate* sorted, const int* counts, int num_anchors, int tiles,
                                float iou_threshold, unsigned long long* masks) {
  const int b = blockIdx.z, row_tile = blockIdx.y, col_tile = blockIdx.x;
  const int n = counts[b];
  const int i = row_tile * kMaskBits + int(threadIdx.x);
  if (row_tile * kMaskBits >= n || col_tile * kMaskBits >= n) return;
  __shared__ Candidate cols[kMaskBits];
  const Candidate* base = sorted + std::size_t(b) * std::size_t(num_anchors);
  const int j0 = col_tile * kMaskBits;
  if (j0 + int(threadIdx.x) < n) cols[threadIdx.x] = base[j0 + threadIdx.x];
  __syncthreads();
  if (i >= n) return;
  unsigned long long bits = 0;
  if (col_tile >= row_tile) {
    const Candidate me = base[i];
    const int end = min(kMaskBits, n - j0);
    for (int k = 0; k < end; ++k) {
      const int j = j0 + k;
      if (j > i && cols[k].class_id == me.class_id && iou_pair(me.xyxy, cols[k].xyxy) > iou_threshold)
        bits |= 1ULL << k;
    }
  }
  masks[(std::size_t(b) * std::size_t(tiles) * kMaskBits + std::size_t(i)) * std::size_t(tiles) + std::size_t(col_tile)] =
      bits;
}

constexpr int kThreads = 256;

}  // namespace

// --- Staging -------------------------------------------------------------------------------------------

Staging::Staging() { MCTRT_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming)); }
Staging::~Staging() {
  if (done_ == nullptr) return;
  cudaEventSynchronize(done_);  // the buffers are freed next; nothing may still read them
  cudaEventDestroy(done_);
}

std::uint8_t* Staging::host(std::size_t bytes) {
  MCTRT_CUDA_CHECK(cudaEventSynchronize(done_));  // the last batch may still be copying host_ or reading device_
  host_.reserve(bytes);
  return host_.data();
}

const std::uint8_t* Staging::upload(std::size_t bytes, cudaStream_t stream) {
  device_.reserve(bytes);
  MCTRT_CUDA_CHECK(cudaMemcpyAsync(device_.data(), host_.data(), bytes, cudaMemcpyHostToDevice, stream));
  return device_.data();
}

void Staging::release_after(cudaStream_t stream) { MCTRT_CUDA_CHECK(cudaEventRecord(done_, stream)); }

// --- pre-processing ------------------------------------------------------------------------------------

std::vector<LetterboxTransform> letterbox_async(Staging& staging, const std::vector<ImageView>& images,
                                                const LetterboxSpec& spec, void* out, InputType type,
                                                cudaStream_t stream) {
  std::vector<LetterboxTransform> transforms(images.size());
  if (images.empty()) return transforms;
  std::vector<LetterboxJob> jobs(images.size());
  std::vector<std::size_t> job_frame(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    const LetterboxPlan plan = plan_letterbox(images[i].h, images[i].w, spec);
    transforms[i] = plan.transform;
    jobs[i] = {0, images[i].h, images[i].w, plan.new_h, plan.new_w, plan.left, plan.top};
    job_frame[i] = i;
  }
  stage_and_launch(letterbox_kernel<float>, letterbox_kernel<__half>, staging, images, jobs, job_frame, spec, out,
                   type, stream);
  return transforms;
}

void crop_resize_async(Staging& staging, const std::vector<ImageView>& images, const std::vector<CropBox>& boxes,
                       const CropSpec& spec, void* out, InputType type, cudaStream_t stream) {
  if (boxes.empty()) return;
  std::vector<CropJob> jobs(boxes.size());
  std::vector<std::size_t> job_frame(boxes.size());
  for (std::size_t k = 0; k < boxes.size(); ++k) {
    const int i = boxes[k].image;
    if (i < 0 || std::size_t(i) >= images.size()) throw std::invalid_argument("crop box names image " + std::to_string(i));
    int x0, y0, x1, y1;
    crop_rect(boxes[k].xyxy, images[std::size_t(i)].h, images[std::size_t(i)].w, &x0, &y0, &x1, &y1);
    jobs[k] = {0, images[std::size_t(i)].h, images[std::size_t(i)].w, x0, y0, x1, y1};
    job_frame[k] = std::size_t(i);
  }
  stage_and_launch(crop_kernel<float>, crop_kernel<__half>, staging, images, jobs, job_frame, spec, out, type, stream);
}

// --- post-processing -----------------------------------------------------------------------------------

std::vector<DetectionList> Postprocessor::run(const float* raw, int batch, const PostprocessSpec& spec,
                                              cudaStream_t stream) {
  std::vector<DetectionList> results(std::size_t(std::max(batch, 0)));
  if (batch <= 0 || spec.num_anchors <= 0) return results;
  if (!spec.yolov8 && spec.num_anchors != yolox_anchor_count(spec.input_h, spec.input_w))
    throw std::invalid_argument("YOLOX output has " + std::to_string(spec.num_anchors) + " anchors; a " +
                                std::to_string(spec.input_h) + "x" + std::to_string(spec.input_w) + " input has " +
                                std::to_string(yolox_anchor_count(spec.input_h, spec.input_w)));
  const std::size_t slots = std::size_t(batch) * std::size_t(spec.num_anchors);
  candidates_.reserve(slots);
  sorted_.reserve(slots);
  keys_.reserve(slots);
  keys_sorted_.reserve(slots);
  slots_.reserve(slots);
  slots_sorted_.reserve(slots);
  counts_.reserve(std::size_t(batch));
  offsets_.reserve(2 * std::size_t(batch));
  allowed_.reserve(spec.decode.class_allowed.size());
  host_counts_.reserve(std::size_t(batch));
  host_offsets_.reserve(2 * std::size_t(batch));

  // 1. decode every anchor; candidates are compacted per image in arbitrary order
  MCTRT_CUDA_CHECK(cudaMemcpyAsync(allowed_.data(), spec.decode.class_allowed.data(), spec.decode.class_allowed.size(),
                                   cudaMemcpyHostToDevice, stream));
  MCTRT_CUDA_CHECK(cudaMemsetAsync(counts_.data(), 0, std::size_t(batch) * sizeof(int), stream));
  const dim3 decode_grid{unsigned((spec.num_anchors + kThreads - 1) / kThreads), unsigned(batch)};
  decode_kernel<<<decode_grid, kThreads, 0, stream>>>(raw, spec, allowed_.data(), candidates_.data(), keys_.data(),
                                                      slots_.data(), counts_.data());
  MCTRT_CUDA_CHECK_LAUNCH();
  MCTRT_CUDA_CHECK(cudaMemcpyAsync(host_counts_.data(), counts_.data(), std::size_t(batch) * sizeof(int),
                                   cudaMemcpyDeviceToHost, stream));
  MCTRT_CUDA_CHECK(cudaStreamSynchronize(stream));
  int most = 0;
  for (int b = 0; b < batch; ++b) most = std::max(most, host_counts_.data()[b]);
  if (most == 0) return results;

  // 2. sort each image's candidates by key, descending
  int* begin = host_offsets_.data();
  int* end = begin + batch;
  for (int b = 0; b < batch; ++b) {
    begin[b] = b * spec.num_anchors;
    end[b] = begin[b] + host_counts_.data()[b];
  }
  MCTRT_CUDA_CHECK(cudaMemcpyAsync(offsets_.data(), begin, 2 * std::size_t(batch) * sizeof(int), cudaMemcpyHostToDevice,
                                   stream));
  std::size_t scratch = 0;
  MCTRT_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      nullptr, scratch, keys_.data(), keys_sorted_.data(), slots_.data(), slots_sorted_.data(), int(slots), batch,
      offsets_.data(), offsets_.data() + batch, 0, 64, stream));
  sort_scratch_.reserve(scratch);
  MCTRT_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      sort_scratch_.data(), scratch, keys_.data(), keys_sorted_.data(), slots_.data(), slots_sorted_.data(), int(slots),
      batch, offsets_.data(), offsets_.data() + batch, 0, 64, stream));
  // only the best kMaxNmsCandidates of each image go on, as on the CPU
  most = std::min(most, int(kMaxNmsCandidates));
  for (int b = 0; b < batch; ++b) host_counts_.data()[b] = std::min(host_counts_.data()[b], most);
  MCTRT_CUDA_CHECK(cudaMemcpyAsync(counts_.data(), host_counts_.data(), std::size_t(batch) * sizeof(int),
                                   cudaMemcpyHostToDevice, stream));
  const dim3 gather_grid{unsigned((most + kThreads - 1) / kThreads), unsigned(batch)};
  gather_kernel<<<gather_grid, kThreads, 0, stream>>>(candidates_.data(), slots_sorted_.data(), counts_.data(),
                                                      spec.num_anchors, sorted_.data());
  MCTRT_CUDA_CHECK_LAUNCH();

  // 3. the suppression bit mask of every pair within a class
  const int tiles = (most + kMaskBits - 1) / kMaskBits;
  const std::size_t mask_words = std::size_t(batch) * std::size_t(tiles) * kMaskBits * std::size_t(tiles);
  masks_.reserve(mask_words);
  host_masks_.reserve(mask_words);
  host_sorted_.reserve(std::size_t(batch) * std::size_t(most));
  const dim3 mask_grid{unsigned(tiles), unsigned(tiles), unsigned(batch)};
  nms_mask_kernel<<<mask_grid, kMaskBits, 0, stream>>>(sorted_.data(), counts_.data(), spec.num_anchors, tiles,
                                                       spec.iou_threshold, masks_.data());
  MCTRT_CUDA_CHECK_LAUNCH();
  for (int b = 0; b < batch; ++b) {
    const int n = host_counts_.data()[b];
    if (n == 0) continue;
    MCTRT_CUDA_CHECK(cudaMemcpyAsync(host_sorted_.data() + std::size_t(b) * std::size_t(most),
                                     sorted_.data() + std::size_t(b) * std::size_t(spec.num_anchors),
                                     std::size_t(n) * sizeof(Candidate), cudaMemcpyDeviceToHost, stream));
    const std::size_t words = std::size_t(tiles) * kMaskBits * std::size_t(tiles);
    MCTRT_CUDA_CHECK(cudaMemcpyAsync(host_masks_.data() + std::size_t(b) * words, masks_.data() + std::size_t(b) * words,
                                     std::size_t(n) * std::size_t(tiles) * sizeof(unsigned long long),
                                     cudaMemcpyDeviceToHost, stream));
  }
  MCTRT_CUDA_CHECK(cudaStreamSynchronize(stream));

  // 4. the greedy pass: keep the best remaining candidate, drop what it suppresses
  std::vector<unsigned long long> removed;
  for (int b = 0; b < batch; ++b) {
    const int n = host_counts_.data()[b];
    const Candidate* sorted = host_sorted_.data() + std::size_t(b) * std::size_t(most);
    const unsigned long long* mask = host_masks_.data() + std::size_t(b) * std::size_t(tiles) * kMaskBits * std::size_t(tiles);
    removed.assign(std::size_t(tiles), 0);
    DetectionList& out = results[std::size_t(b)];
    for (int i = 0; i < n && out.size() < spec.max_det; ++i) {
      if (removed[std::size_t(i / kMaskBits)] >> (i % kMaskBits) & 1ULL) continue;
      const Candidate& c = sorted[i];
      out.xyxy.insert(out.xyxy.end(), c.xyxy, c.xyxy + 4);
      out.score.push_back(c.score);
      out.class_id.push_back(c.class_id);
      const unsigned long long* row = mask + std::size_t(i) * std::size_t(tiles);
      for (int t = i / kMaskBits; t < tiles; ++t) removed[std::size_t(t)] |= row[t];
    }
  }
  return results;
}

}  // namespace mctrt::cuda
