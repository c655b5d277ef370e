// Letterbox and crop-resize share one bilinear resampler: per output column the byte offsets of its
// two source pixels and their weight are computed once per call, then each output row blends two
// source rows into the three planar (CHW) float rows the model reads, mapped per channel
// (value * gain + bias). Rows go through resample.hpp's blend_row, AVX2 where the CPU has it.
#include "mctrt/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "resample.hpp"

namespace mctrt {
namespace detail {

void blend_row(const RowBlend& row, const ColumnTaps& taps, int begin, int end, float* const out[3]) {
  for (int x = begin; x < end; ++x) {
    const std::uint8_t* a = row.top + taps.left[x];
    const std::uint8_t* b = row.top + taps.right[x];
    const std::uint8_t* c = row.bottom + taps.left[x];
    const std::uint8_t* d = row.bottom + taps.right[x];
    for (int k = 0; k < 3; ++k) {
      const int s = row.src_channel[k];
      out[k][x] = bilinear(a[s], b[s], c[s], d[s], taps.weight[x], row.weight) * row.gain[k] + row.bias[k];
    }
  }
}

}  // namespace detail

namespace {

// Bilinear resize of the source rectangle at (x0, y0) of size src_w x src_h to dst_w x dst_h, output
// rows [row_begin, row_end) into a planar float destination (plane floats apart, dst_row_stride per row).
void resize_into(const std::uint8_t* image, std::size_t row_stride, int x0, int y0, int src_w, int src_h, int dst_w,
                 int dst_h, int row_begin, int row_end, std::size_t plane, std::size_t dst_row_stride,
                 detail::RowBlend row, float* out) {
  thread_local std::vector<int> left, right;
  thread_local std::vector<float> weight;
  left.resize(std::size_t(dst_w));
  right.resize(std::size_t(dst_w));
  weight.resize(std::size_t(dst_w));
  int simd_end = 0;  // columns [0, simd_end) may read 4 bytes at each tap: their right pixel is not the last
  for (int x = 0; x < dst_w; ++x) {
    const Tap t = linear_tap(x, src_w, dst_w);
    left[std::size_t(x)] = 3 * (x0 + t.i0);
    right[std::size_t(x)] = 3 * (x0 + t.i1);
    weight[std::size_t(x)] = t.w1;
    if (t.i1 < src_w - 1) simd_end = x + 1;
  }
  simd_end = detail::avx2_enabled() ? simd_end / 8 * 8 : 0;
  const detail::ColumnTaps taps{left.data(), right.data(), weight.data()};
  for (int y = row_begin; y < row_end; ++y) {
    const Tap t = linear_tap(y, src_h, dst_h);
    row.top = image + std::size_t(y0 + t.i0) * row_stride;
    row.bottom = image + std::size_t(y0 + t.i1) * row_stride;
    row.weight = t.w1;
    float* const first = out + std::size_t(y) * dst_row_stride;
    float* const dst[3] = {first, first + plane, first + 2 * plane};
    if (simd_end > 0) detail::blend_row_avx2(row, taps, simd_end, dst);
    detail::blend_row(row, taps, simd_end, dst_w, dst);
  }
}

}  // namespace

const char* resampler_kind() { return detail::avx2_enabled() ? "avx2" : "portable"; }

LetterboxTransform letterbox_transform(int h, int w, const LetterboxSpec& spec, int* new_h, int* new_w) {
  if (h <= 0 || w <= 0) throw std::invalid_argument("image is empty (" + std::to_string(h) + " x " + std::to_string(w) + ")");
  if (spec.out_h <= 0 || spec.out_w <= 0)
    throw std::invalid_argument("the letterbox output is empty (" + std::to_string(spec.out_h) + " x " +
                                std::to_string(spec.out_w) + ")");
  const double ratio = std::min(double(spec.out_h) / h, double(spec.out_w) / w);
  // Half to even, as Python's round() in Ultralytics: 641 rows at ratio 0.5 are 320, not 321.
  *new_w = std::max(1, int(std::nearbyint(w * ratio)));
  *new_h = std::max(1, int(std::nearbyint(h * ratio)));
  LetterboxTransform t;
  t.ratio = float(ratio);
  if (spec.centre) {
    // Ultralytics rounds (pad / 2 - 0.1) so that an odd padding puts the extra pixel right/bottom.
    t.pad_x = float(std::lround((spec.out_w - *new_w) / 2.0 - 0.1));
    t.pad_y = float(std::lround((spec.out_h - *new_h) / 2.0 - 0.1));
  }
  return t;
}

void letterbox_rows(const std::uint8_t* image, int h, int w, std::size_t row_stride, const LetterboxPlan& plan,
                    const LetterboxSpec& spec, int row_begin, int row_end, float* out) {
  const float pad = spec.pad_value * spec.scale;
  const std::size_t out_w = std::size_t(spec.out_w), plane = std::size_t(spec.out_h) * out_w;
  const int image_begin = std::clamp(plan.top, row_begin, row_end);
  const int image_end = std::clamp(plan.top + plan.new_h, row_begin, row_end);
  for (int c = 0; c < 3; ++c) {
    float* p = out + std::size_t(c) * plane;
    std::fill(p + std::size_t(row_begin) * out_w, p + std::size_t(image_begin) * out_w, pad);  // rows above
    std::fill(p + std::size_t(image_end) * out_w, p + std::size_t(row_end) * out_w, pad);      // rows below
    for (int y = image_begin; y < image_end; ++y) {  // left and right of the image
      float* row = p + std::size_t(y) * out_w;
      std::fill(row, row + plan.left, pad);
      std::fill(row + plan.left + plan.new_w, row + out_w, pad);
    }
  }
  if (image_begin == image_end) return;
  // Output channel c reads source byte src_channel[c] (BGR order in memory).
  const detail::RowBlend row{nullptr, nullptr, 0.f, {spec.to_rgb ? 2 : 0, 1, spec.to_rgb ? 0 : 2},
                             {spec.scale, spec.scale, spec.scale}, {0.f, 0.f, 0.f}};
  resize_into(image, row_stride, 0, 0, w, h, plan.new_w, plan.new_h, image_begin - plan.top, image_end - plan.top,
              plane, out_w, row, out + std::size_t(plan.top) * out_w + std::size_t(plan.left));
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
  letterbox_rows(image, h, w, row_stride, plan, spec, 0, spec.out_h, out);
  return plan.transform;
}

void crop_rect(const float* xyxy, int h, int w, int* x0, int* y0, int* x1, int* y1) {
  // Clamped as floats first: a coordinate beyond the int range has no int to floor to.
  const auto within = [](float v, int lo, int hi) { return int(std::clamp(std::floor(v), float(lo), float(hi))); };
  *x0 = within(xyxy[0], 0, w - 1);
  *y0 = within(xyxy[1], 0, h - 1);
  *x1 = within(xyxy[2], *x0 + 1, w);
  *y1 = within(xyxy[3], *y0 + 1, h);
}

void crop_resize(const std::uint8_t* image, int h, int w, std::size_t row_stride, const float* xyxy,
                 const CropSpec& spec, float* out) {
  int x0, y0, x1, y1;
  crop_rect(xyxy, h, w, &x0, &y0, &x1, &y1);
  detail::RowBlend row{nullptr, nullptr, 0.f, {2, 1, 0}, {}, {}};  // BGR in memory, RGB out
  for (int c = 0; c < 3; ++c) {
    row.gain[c] = 1.f / (255.f * spec.std[c]);
    row.bias[c] = -spec.mean[c] / spec.std[c];
  }
  resize_into(image, row_stride, x0, y0, x1 - x0, y1 - y0, spec.out_w, spec.out_h, 0, spec.out_h,
              std::size_t(spec.out_h) * std::size_t(spec.out_w), std::size_t(spec.out_w), row, out);
}

}  // namespace mctrt
