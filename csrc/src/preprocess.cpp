// Letterbox in one pass over the output: per output column and row the two source taps and their
// weights are computed once, then every pixel is a 4-tap blend per channel written straight into
// the planar (CHW) float buffer the model reads.
#include "mctrt/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace mctrt {
namespace {

struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

// cv2.resize INTER_LINEAR: src = (dst + 0.5) * (src_size / dst_size) - 0.5, clamped to the image.
void make_taps(int src_size, int dst_size, std::vector<Tap>& taps) {
  taps.resize(std::size_t(dst_size));
  const double step = double(src_size) / double(dst_size);
  for (int d = 0; d < dst_size; ++d) {
    double s = (d + 0.5) * step - 0.5;
    if (s < 0) s = 0;
    int i0 = int(std::floor(s));
    if (i0 >= src_size - 1) {
      taps[std::size_t(d)] = {src_size - 1, src_size - 1, 0.f};
      continue;
    }
    taps[std::size_t(d)] = {i0, i0 + 1, float(s - i0)};
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

LetterboxTransform letterbox(const std::uint8_t* image, int h, int w, std::size_t row_stride, const LetterboxSpec& spec,
                             float* out) {
  int new_h = 0, new_w = 0;
  const LetterboxTransform t = letterbox_transform(h, w, spec, &new_h, &new_w);
  const int left = int(t.pad_x), top = int(t.pad_y);
  const std::size_t plane = std::size_t(spec.out_h) * std::size_t(spec.out_w);
  const float pad = spec.pad_value * spec.scale;
  std::fill(out, out + 3 * plane, pad);

  thread_local std::vector<Tap> xs, ys;
  make_taps(w, new_w, xs);
  make_taps(h, new_h, ys);
  // Output channel c reads source channel src_channel[c] (BGR order in memory).
  const int src_channel[3] = {spec.to_rgb ? 2 : 0, 1, spec.to_rgb ? 0 : 2};
  for (int y = 0; y < new_h; ++y) {
    const Tap ty = ys[std::size_t(y)];
    const std::uint8_t* r0 = image + std::size_t(ty.i0) * row_stride;
    const std::uint8_t* r1 = image + std::size_t(ty.i1) * row_stride;
    const float wy1 = ty.w1, wy0 = 1.f - ty.w1;
    const std::size_t row_offset = std::size_t(top + y) * std::size_t(spec.out_w) + std::size_t(left);
    for (int c = 0; c < 3; ++c) {
      const int sc = src_channel[c];
      float* dst = out + std::size_t(c) * plane + row_offset;
      for (int x = 0; x < new_w; ++x) {
        const Tap tx = xs[std::size_t(x)];
        const float wx1 = tx.w1, wx0 = 1.f - tx.w1;
        const float top_row = wx0 * r0[3 * tx.i0 + sc] + wx1 * r0[3 * tx.i1 + sc];
        const float bottom_row = wx0 * r1[3 * tx.i0 + sc] + wx1 * r1[3 * tx.i1 + sc];
        dst[x] = (wy0 * top_row + wy1 * bottom_row) * spec.scale;
      }
    }
  }
  return t;
}

}  // namespace mctrt
