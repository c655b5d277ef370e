// Letterbox and crop-resize share one bilinear resampler: per output column and row the two source
// taps and their weights are computed once, then every pixel is a 4-tap blend per channel, mapped
// (scale, mean, std) and written straight into the planar (CHW) float buffer the model reads.
#include "mctrt/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace mctrt {
namespace {

void make_taps(int src_size, int dst_size, std::vector<Tap>& taps) {
  taps.resize(std::size_t(dst_size));
  for (int d = 0; d < dst_size; ++d) taps[std::size_t(d)] = linear_tap(d, src_size, dst_size);
}

// Bilinear resize of a source rectangle into a planar float destination, output rows
// [row_begin, row_end), with a per-channel affine map (value * gain[c] + bias[c]) and output channel c
// read from source channel src_channel[c]. One pass per row computes all three channels.
void resize_into(const std::uint8_t* image, std::size_t row_stride, int x0, int y0, int src_w, int src_h, int dst_w,
                 int dst_h, int row_begin, int row_end, std::size_t plane, std::size_t dst_row_stride,
                 const int src_channel[3], const float gain[3], const float bias[3], float* out) {
  thread_local std::vector<Tap> xs, ys;
  make_taps(src_w, dst_w, xs);
  make_taps(src_h, dst_h, ys);
  const int c0 = src_channel[0], c1 = src_channel[1], c2 = src_channel[2];
  for (int y = row_begin; y < row_end; ++y) {
    const Tap ty = ys[std::size_t(y)];
    const std::uint8_t* r0 = image + std::size_t(y0 + ty.i0) * row_stride + 3 * std::size_t(x0);
    const std::uint8_t* r1 = image + std::size_t(y0 + ty.i1) * row_stride + 3 * std::size_t(x0);
    const float wy1 = ty.w1, wy0 = 1.f - ty.w1;
    float* d0 = out + std::size_t(y) * dst_row_stride;
    float* d1 = d0 + plane;
    float* d2 = d1 + plane;
    for (int x = 0; x < dst_w; ++x) {
      const Tap tx = xs[std::size_t(x)];
      const float w00 = wy0 * (1.f - tx.w1), w01 = wy0 * tx.w1, w10 = wy1 * (1.f - tx.w1), w11 = wy1 * tx.w1;
      const std::uint8_t* a = r0 + 3 * tx.i0;
      const std::uint8_t* b = r0 + 3 * tx.i1;
      const std::uint8_t* c = r1 + 3 * tx.i0;
      const std::uint8_t* d = r1 + 3 * tx.i1;
      d0[x] = (w00 * a[c0] + w01 * b[c0] + w10 * c[c0] + w11 * d[c0]) * gain[0] + bias[0];
      d1[x] = (w00 * a[c1] + w01 * b[c1] + w10 * c[c1] + w11 * d[c1]) * gain[1] + bias[1];
      d2[x] = (w00 * a[c2] + w01 * b[c2] + w10 * c[c2] + w11 * d[c2]) * gain[2] + bias[2];
    }
  }
}

}  // namespace

LetterboxTransform letterbox_transform(int h, int w, const LetterboxSpec& spec, int* new_h, int* new_w) {
  if (h <= 0 || w <= 0) throw std::invalid_argument("image is empty (" + std::to_string(h) + " x " + std::to_string(w) + ")");
  const double ratio = std::min(double(spec.out_h) / h, double(spec.out_w) / w);
  *new_w = std::max(1, int(std::lround(w * ratio)));
  *new_h = std::max(1, int(std::lround(h * ratio)));
  LetterboxTransform t;
  t.ratio = float(ratio);
  if (spec.centre) {
    // Ultralytics rounds (pad / 2 - 0.1) so that an odd padding puts the extra pixel right/bottom.
    t.pad_x = float(std::lround((spec.out_w - *new_w) / 2.0 - 0.1));
    t.pad_y = float(std::lround((spec.out_h - *new_h) / 2.0 - 0.1));
  }
  return t;
}

void letterbox_padding(const LetterboxPlan& plan, const LetterboxSpec& spec, float* out) {
  const float pad = spec.pad_value * spec.scale;
  const std::size_t out_w = std::size_t(spec.out_w), plane = std::size_t(spec.out_h) * out_w;
  for (int c = 0; c < 3; ++c) {
    float* p = out + std::size_t(c) * plane;
    std::fill(p, p + std::size_t(plan.top) * out_w, pad);  // rows above
    std::fill(p + std::size_t(plan.top + plan.new_h) * out_w, p + plane, pad);  // rows below
    for (int y = plan.top; y < plan.top + plan.new_h; ++y) {  // left and right of the image
      float* row = p + std::size_t(y) * out_w;
      std::fill(row, row + plan.left, pad);
      std::fill(row + plan.left + plan.new_w, row + out_w, pad);
    }
  }
}

void letterbox_rows(const std::uint8_t* image, int h, int w, std::size_t row_stride, const LetterboxPlan& plan,
                    const LetterboxSpec& spec, int row_begin, int row_end, float* out) {
  // Output channel c reads source channel src_channel[c] (BGR order in memory).
  const int src_channel[3] = {spec.to_rgb ? 2 : 0, 1, spec.to_rgb ? 0 : 2};
  const float gain[3] = {spec.scale, spec.scale, spec.scale}, bias[3] = {0.f, 0.f, 0.f};
  const std::size_t plane = std::size_t(spec.out_h) * std::size_t(spec.out_w);
  resize_into(image, row_stride, 0, 0, w, h, plan.new_w, plan.new_h, row_begin, row_end, plane,
              std::size_t(spec.out_w), src_channel, gain, bias,
              out + std::size_t(plan.top) * std::size_t(spec.out_w) + std::size_t(plan.left));
}

LetterboxPlan plan_letterbox(int h, int w, const LetterboxSpec& spec) {
  LetterboxPlan plan;
  plan.transform = letterbox_transform(h, w, spec, &plan.new_h, &plan.new_w);
  plan.left = int(plan.transform.pad_x);
  plan.top = int(plan.transform.pad_y);
  return plan;
}

LetterboxTransform letterbox(const std::uint8_t* image, int h, int w, std::size_t row_stride, const LetterboxSpec& spec,
                             float* out) {
  const LetterboxPlan plan = plan_letterbox(h, w, spec);
  letterbox_padding(plan, spec, out);
  letterbox_rows(image, h, w, row_stride, plan, spec, 0, plan.new_h, out);
  return plan.transform;
}

void crop_rect(const float* xyxy, int h, int w, int* x0, int* y0, int* x1, int* y1) {
  *x0 = std::clamp(int(std::floor(xyxy[0])), 0, w - 1);
  *y0 = std::clamp(int(std::floor(xyxy[1])), 0, h - 1);
  *x1 = std::clamp(int(std::floor(xyxy[2])), *x0 + 1, w);
  *y1 = std::clamp(int(std::floor(xyxy[3])), *y0 + 1, h);
}

void crop_resize(const std::uint8_t* image, int h, int w, std::size_t row_stride, const float* xyxy,
                 const CropSpec& spec, float* out) {
  int x0, y0, x1, y1;
  crop_rect(xyxy, h, w, &x0, &y0, &x1, &y1);
  const int src_channel[3] = {2, 1, 0};  // BGR in memory, RGB out
  float gain[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    gain[c] = 1.f / (255.f * spec.std[c]);
    bias[c] = -spec.mean[c] / spec.std[c];
  }
  resize_into(image, row_stride, x0, y0, x1 - x0, y1 - y0, spec.out_w, spec.out_h, 0, spec.out_h,
              std::size_t(spec.out_h) * std::size_t(spec.out_w), std::size_t(spec.out_w), src_channel, gain, bias, out);
}

}  // namespace mctrt
