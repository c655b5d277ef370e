// The inner loop of the bilinear resampler (preprocess.cpp), one output row at a time: portable C++,
// and an AVX2 version chosen at run time on x86 CPUs that have it. Internal to the core.
#pragma once

#include <cstdint>

namespace mctrt::detail {

// Sampling of one resize along x: for output column x, source pixels at byte offsets left[x] and
// right[x] of a row, blended with weight[x] on the right one.
struct ColumnTaps {
  const int* left;
  const int* right;
  const float* weight;
};

// What one output row is made of: two source rows, the weight of the lower one, and per output
// channel c the source byte (0..2 of BGR) and the affine map value * gain[c] + bias[c].
struct RowBlend {
  const std::uint8_t* top;
  const std::uint8_t* bottom;
  float weight;
  int src_channel[3];
  float gain[3];
  float bias[3];
};

// Writes columns [begin, end) of the three planar output rows.
void blend_row(const RowBlend& row, const ColumnTaps& taps, int begin, int end, float* const out[3]);

// The AVX2 version of blend_row for columns [0, end), end a multiple of 8; it reads 4 bytes at each
// tap, so every right[x] + 3 must lie inside the source row. Only call when avx2_enabled().
void blend_row_avx2(const RowBlend& row, const ColumnTaps& taps, int end, float* const out[3]);

// True when this CPU has AVX2 and MCTRT_SIMD is not "0" (the switch that forces the portable path).
bool avx2_enabled();

}  // namespace mctrt::detail
