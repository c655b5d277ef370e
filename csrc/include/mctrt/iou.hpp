// IoU between two sets of xyxy boxes: the dense matrix (also the CPU reference for the CUDA kernel)
// and the sparse list of overlapping pairs, which is what association needs in a crowd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mctrt {

// a: (n, 4) xyxy, b: (m, 4) xyxy, out: (n, m) row-major. Boxes are not validated here.
template <typename T>
void iou_matrix(const T* a, std::size_t n, const T* b, std::size_t m, T* out);

struct OverlapPair {
  std::uint32_t a;  // row in the first set
  std::uint32_t b;  // row in the second set
  double iou;       // > 0
};

// Every pair of boxes with IoU > 0, grouped by a (ascending), b in no particular order. Buckets b
// by left edge (a counting sort, no comparisons) and, for each box of a, visits only the buckets
// within reach of it: O(n + m + pairs visited) when boxes are small next to the scene, as people in
// a camera view are. Degrades gracefully (to n x m) when every box is in one place.
class OverlapFinder {
 public:
  const std::vector<OverlapPair>& find(const double* a, std::size_t n, const double* b, std::size_t m);

 private:
  std::vector<std::uint32_t> bucket_start_;  // bucket -> first entry in by_bucket_
  std::vector<std::uint32_t> by_bucket_;     // b's indices grouped by bucket
  std::vector<std::uint32_t> bucket_of_;     // b index -> bucket
  std::vector<OverlapPair> pairs_;
};

}  // namespace mctrt
