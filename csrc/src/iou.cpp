// IoU matrix on the CPU: the fallback path and the reference for the CUDA kernel.
#include "mctrt/iou.hpp"

#include <algorithm>
#include <cmath>

#include "mctrt/boxes.hpp"

namespace mctrt {

template <typename T>
void iou_matrix(const T* a, std::size_t n, const T* b, std::size_t m, T* out) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) out[i * m + j] = iou_pair(a + 4 * i, b + 4 * j);
}

const std::vector<OverlapPair>& OverlapFinder::find(const double* a, std::size_t n, const double* b, std::size_t m) {
  pairs_.clear();
  if (n == 0 || m == 0) return pairs_;
  double lo = b[0], hi = b[0], widest = 0.0;
  for (std::size_t k = 0; k < m; ++k) {
    lo = std::min(lo, b[4 * k]);
    hi = std::max(hi, b[4 * k]);
    widest = std::max(widest, b[4 * k + 2] - b[4 * k]);
  }
  // Buckets as wide as the widest box (so a query spans few of them), but never more than m + 1.
  const double width = std::max({widest, (hi - lo) / double(m), 1e-9});
  const std::size_t buckets = std::size_t((hi - lo) / width) + 1;
  auto bucket = [&](double left) {  // clamped; NaN lands in bucket 0 (and then overlaps nothing)
    const double k = std::floor((left - lo) / width);
    if (!(k > 0)) return std::size_t(0);
    return k >= double(buckets - 1) ? buckets - 1 : std::size_t(k);
  };
  bucket_start_.assign(buckets + 1, 0);
  bucket_of_.resize(m);
  for (std::size_t k = 0; k < m; ++k) {
    bucket_of_[k] = std::uint32_t(bucket(b[4 * k]));
    ++bucket_start_[bucket_of_[k] + 1];
  }
  for (std::size_t k = 0; k < buckets; ++k) bucket_start_[k + 1] += bucket_start_[k];
  by_bucket_.resize(m);
  for (std::size_t k = 0; k < m; ++k) by_bucket_[bucket_start_[bucket_of_[k]]++] = std::uint32_t(k);
  for (std::size_t k = buckets; k > 0; --k) bucket_start_[k] = bucket_start_[k - 1];  // undo the fill offsets
  bucket_start_[0] = 0;

  for (std::size_t i = 0; i < n; ++i) {
    const double* box = a + 4 * i;
    // A b box can overlap only if its left edge is in (box.left - widest, box.right).
    if (box[2] <= lo || box[0] - widest >= hi) continue;
    const std::size_t first = bucket(box[0] - widest), last = bucket(box[2]);
    for (std::uint32_t k = bucket_start_[first]; k < bucket_start_[last + 1]; ++k) {
      const std::uint32_t j = by_bucket_[k];
      const double iou = iou_pair(box, b + 4 * j);
      if (iou > 0) pairs_.push_back({std::uint32_t(i), j, iou});
    }
  }
  return pairs_;
}

template void iou_matrix<float>(const float*, std::size_t, const float*, std::size_t, float*);
template void iou_matrix<double>(const double*, std::size_t, const double*, std::size_t, double*);

}  // namespace mctrt
