// Decoding and NMS. NMS sorts candidates by score once and compares each only against kept boxes of
// its own class, so it costs O(candidates x kept) rather than candidates squared.
#include "mctrt/nms.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "mctrt/boxes.hpp"

namespace mctrt {
namespace {

void push(DetectionList& out, float cx, float cy, float w, float h, float score, int cls) {
  out.xyxy.insert(out.xyxy.end(), {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
  out.score.push_back(score);
  out.class_id.push_back(cls);
}

}  // namespace

void decode_yolov8(const float* raw, int num_anchors, const DecodeSpec& spec, DetectionList& out) {
  const int num_classes = int(spec.class_allowed.size());
  const std::size_t a_count = std::size_t(num_anchors);
  for (std::size_t a = 0; a < a_count; ++a) {
    float best = -1.f;
    int best_class = -1;
    for (int c = 0; c < num_classes; ++c) {
      if (!spec.class_allowed[std::size_t(c)]) continue;
      const float s = raw[(4 + std::size_t(c)) * a_count + a];
      if (s > best) {
        best = s;
        best_class = c;
      }
    }
    if (best_class < 0 || !(best >= spec.conf_threshold)) continue;
    push(out, raw[a], raw[a_count + a], raw[2 * a_count + a], raw[3 * a_count + a], best, best_class);
  }
}

void decode_yolox(const float* raw, int num_anchors, int input_h, int input_w, const DecodeSpec& spec,
                  DetectionList& out) {
  const int num_classes = int(spec.class_allowed.size());
  const std::size_t width = 5 + std::size_t(num_classes);
  int anchor = 0;
  for (const int stride : {8, 16, 32}) {
    const int gh = input_h / stride, gw = input_w / stride;
    for (int gy = 0; gy < gh; ++gy)
      for (int gx = 0; gx < gw; ++gx, ++anchor) {
        if (anchor >= num_anchors) throw std::invalid_argument("YOLOX output has fewer anchors than its grids need");
        const float* row = raw + std::size_t(anchor) * width;
        float best = -1.f;
        int best_class = -1;
        for (int c = 0; c < num_classes; ++c) {
          if (!spec.class_allowed[std::size_t(c)]) continue;
          const float s = row[4] * row[5 + c];
          if (s > best) {
            best = s;
            best_class = c;
          }
        }
        if (best_class < 0 || !(best >= spec.conf_threshold)) continue;
        push(out, (row[0] + gx) * stride, (row[1] + gy) * stride, std::exp(row[2]) * stride,
             std::exp(row[3]) * stride, best, best_class);
      }
  }
  if (anchor != num_anchors) throw std::invalid_argument("YOLOX output has more anchors than its grids");
}

void nms(const DetectionList& cand, float iou_threshold, std::size_t max_det, DetectionList& out,
         std::size_t max_candidates) {
  out.clear();
  thread_local std::vector<std::uint32_t> order, kept;
  order.resize(cand.size());
  std::iota(order.begin(), order.end(), 0u);
  // Highest score first; ties by index so the result does not depend on the sort's whims.
  auto by_score = [&](std::uint32_t p, std::uint32_t q) {
    return cand.score[p] > cand.score[q] || (cand.score[p] == cand.score[q] && p < q);
  };
  if (order.size() > max_candidates) {
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(max_candidates), order.end(), by_score);
    order.resize(max_candidates);
  } else {
    std::sort(order.begin(), order.end(), by_score);
  }
  kept.clear();
  for (const std::uint32_t i : order) {
    if (kept.size() >= max_det) break;
    bool suppressed = false;
    for (const std::uint32_t k : kept) {
      if (cand.class_id[k] == cand.class_id[i] &&
          iou_pair(&cand.xyxy[4 * std::size_t(k)], &cand.xyxy[4 * std::size_t(i)]) > iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    kept.push_back(i);
    out.xyxy.insert(out.xyxy.end(), &cand.xyxy[4 * std::size_t(i)], &cand.xyxy[4 * std::size_t(i)] + 4);
    out.score.push_back(cand.score[i]);
    out.class_id.push_back(cand.class_id[i]);
  }
}

void unletterbox(DetectionList& dets, const LetterboxTransform& t, int h, int w) {
  const float max_x = float(w), max_y = float(h);
  for (std::size_t k = 0; k < dets.size(); ++k) {
    float* b = &dets.xyxy[4 * k];
    b[0] = std::clamp((b[0] - t.pad_x) / t.ratio, 0.f, max_x);
    b[1] = std::clamp((b[1] - t.pad_y) / t.ratio, 0.f, max_y);
    b[2] = std::clamp((b[2] - t.pad_x) / t.ratio, 0.f, max_x);
    b[3] = std::clamp((b[3] - t.pad_y) / t.ratio, 0.f, max_y);
  }
}

}  // namespace mctrt
