// AVX2 blend_row: eight output pixels per step. Each tap's BGR pixel is read as one 32-bit lane,
// channels are split off with shifts, and the blend is the same multiply/add sequence as
// mctrt::bilinear (no FMA), so it rounds exactly as the portable path does.
// Compiled with a per-function target attribute, not -mavx2 for the file, so that no shared inline
// code can pick up AVX2 instructions and reach a CPU without them.
#include <cstdlib>
#include <cstring>

#include "resample.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MCTRT_HAVE_AVX2_PATH 1
#endif

namespace mctrt::detail {

#ifdef MCTRT_HAVE_AVX2_PATH

namespace {

__attribute__((target("avx2"))) inline __m256i load_pixels(const std::uint8_t* row, const int* offsets) {
  std::uint32_t lanes[8];
  for (int k = 0; k < 8; ++k) std::memcpy(&lanes[k], row + offsets[k], 4);
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes));
}

__attribute__((target("avx2"))) inline __m256 channel(__m256i pixels, int byte) {
  return _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srl_epi32(pixels, _mm_cvtsi32_si128(8 * byte)),
                                             _mm256_set1_epi32(0xff)));
}

__attribute__((target("avx2"))) inline __m256 lerp(__m256 a, __m256 b, __m256 w) {
  return _mm256_add_ps(a, _mm256_mul_ps(_mm256_sub_ps(b, a), w));
}

}  // namespace

__attribute__((target("avx2"))) void blend_row_avx2(const RowBlend& row, const ColumnTaps& taps, int end,
                                                    float* const out[3]) {
  const __m256 wy = _mm256_set1_ps(row.weight);
  for (int x = 0; x < end; x += 8) {
    const __m256i a = load_pixels(row.top, taps.left + x), b = load_pixels(row.top, taps.right + x);
    const __m256i c = load_pixels(row.bottom, taps.left + x), d = load_pixels(row.bottom, taps.right + x);
    const __m256 wx = _mm256_loadu_ps(taps.weight + x);
    for (int k = 0; k < 3; ++k) {
      const int s = row.src_channel[k];
      const __m256 top = lerp(channel(a, s), channel(b, s), wx), bottom = lerp(channel(c, s), channel(d, s), wx);
      const __m256 value = _mm256_add_ps(_mm256_mul_ps(lerp(top, bottom, wy), _mm256_set1_ps(row.gain[k])),
                                         _mm256_set1_ps(row.bias[k]));
      _mm256_storeu_ps(out[k] + x, value);
    }
  }
}

bool avx2_enabled() {
  static const bool enabled = [] {
    const char* simd = std::getenv("MCTRT_SIMD");
    if (simd != nullptr && std::strcmp(simd, "0") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return enabled;
}

#else

void blend_row_avx2(const RowBlend&, const ColumnTaps&, int, float* const[3]) { std::abort(); }
bool avx2_enabled() { return false; }

#endif

}  // namespace mctrt::detail
