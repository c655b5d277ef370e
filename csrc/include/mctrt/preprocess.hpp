// Model pre-processing, each in one pass over a BGR uint8 frame into a float32 CHW model input
// (resize, pad, channel order, scale and layout fused): the detector's letterbox and re-ID's crops.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "mctrt/host_device.hpp"

namespace mctrt {

// Which resampler letterbox and crop_resize run on this CPU: "avx2" or "portable" (the environment
// variable MCTRT_SIMD=0 forces the portable one). Both give the same values.
const char* resampler_kind();

// One output coordinate's two source taps for a bilinear resize of src_size to dst_size, on
// cv2.resize INTER_LINEAR's grid: src = (dst + 0.5) * src_size / dst_size - 0.5, clamped to the
// image. Shared by the C++ and CUDA resamplers so both sample the same points.
struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};
MCTRT_HOST_DEVICE inline Tap linear_tap(int d, int src_size, int dst_size) {
  double s = (d + 0.5) * (double(src_size) / double(dst_size)) - 0.5;
  if (s < 0) s = 0;
  const int i0 = int(floor(s));
  if (i0 >= src_size - 1) return {src_size - 1, src_size - 1, 0.f};
  return {i0, i0 + 1, float(s - i0)};
}

// The bilinear blend of four source values a b / c d (top-left, top-right, bottom-left,
// bottom-right): along x on both rows, then between the rows. The portable, AVX2 and CUDA resamplers
// all use this order of operations (and no fused multiply-adds), so they round alike.
MCTRT_HOST_DEVICE inline float bilinear(float a, float b, float c, float d, float wx, float wy) {
  const float top = a + (b - a) * wx, bottom = c + (d - c) * wx;
  return top + (bottom - top) * wy;
}

// A BGR uint8 frame in host memory: h rows of w packed pixels, row_stride bytes apart.
struct ImageView {
  const std::uint8_t* data;
  int h, w;
  std::size_t row_stride;
};

// How a model wants its input (YOLOv8: centred, RGB, /255; YOLOX: top-left, BGR, 0..255).
struct LetterboxSpec {
  int out_h = 640;
  int out_w = 640;
  bool centre = true;        // pad on both sides (true) or only right and bottom (false)
  bool to_rgb = true;        // swap BGR to RGB
  float scale = 1.0f / 255;  // multiply pixel values by this
  float pad_value = 114.f;   // in 0..255 units, before scaling
};

// Where the frame landed in the model input: input = original * ratio + (pad_x, pad_y).
struct LetterboxTransform {
  float ratio = 1.f;
  float pad_x = 0.f;
  float pad_y = 0.f;
};

// The resized size and placement for an h x w frame (as Ultralytics computes them).
LetterboxTransform letterbox_transform(int h, int w, const LetterboxSpec& spec, int* new_h, int* new_w);

// The letterbox of one frame, split so that rows can be shared among threads: output rows
// [row_begin, row_end) of the out_h x out_w input, padding and image alike.
struct LetterboxPlan {
  LetterboxTransform transform;
  int new_h = 0, new_w = 0, left = 0, top = 0;
};
LetterboxPlan plan_letterbox(int h, int w, const LetterboxSpec& spec);
void letterbox_rows(const std::uint8_t* image, int h, int w, std::size_t row_stride, const LetterboxPlan& plan,
                    const LetterboxSpec& spec, int row_begin, int row_end, float* out);

// All of it at once. image: h x w x 3 BGR uint8 with `row_stride` bytes per row; out: 3 x out_h x
// out_w float32. Bilinear sampling on cv2.resize's grid (half-pixel centres, edges clamped).
LetterboxTransform letterbox(const std::uint8_t* image, int h, int w, std::size_t row_stride, const LetterboxSpec& spec,
                             float* out);

// Re-ID pre-processing: a box cut out of a frame, resized to out_h x out_w (no letterbox: the
// person is stretched, as re-ID models are trained), RGB, value / 255, then (value - mean) / std.
struct CropSpec {
  int out_h = 256;
  int out_w = 128;
  float mean[3] = {0.485f, 0.456f, 0.406f};  // RGB, ImageNet
  float std[3] = {0.229f, 0.224f, 0.225f};
};

// The integer pixel rectangle [x0, x1) x [y0, y1) a box is cut from: corners truncated to whole
// pixels (as image[int(y0):int(y1), int(x0):int(x1)] does), clamped to the frame, at least 1 x 1.
void crop_rect(const float* xyxy, int h, int w, int* x0, int* y0, int* x1, int* y1);

// image as for letterbox; xyxy one box; out: 3 x out_h x out_w float32.
void crop_resize(const std::uint8_t* image, int h, int w, std::size_t row_stride, const float* xyxy,
                 const CropSpec& spec, float* out);

}  // namespace mctrt
