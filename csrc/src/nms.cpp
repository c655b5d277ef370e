// Decoding and NMS. NMS sorts candidates by score once and compares each only against kept boxes of
// its own class, so it costs O(candidates x kept) rather than candidates squared.
#include "mctrt/nms.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "mctrt/boxes.hpp"

namespace mctrt {
namespace {

void push(DetectionList& out, const Candidate& c) {
  out.xyxy.insert(out.xyxy.end(), c.xyxy, c.xyxy + 4);
  out.score.push_back(c.score);
  out.class_id.push_back(c.class_id);
}

}  // namespace

void decode_yolov8(const float* raw, int num_anchors, const DecodeSpec& spec, DetectionList& out) {
  const int num_classes = int(spec.class_allowed.size());
  Candidate c;
  for (int a = 0; a < num_anchors; ++a)
    if (decode_yolov8_anchor(raw, a, num_anchors, num_classes, spec.class_allowed.data(), spec.conf_threshold, &c))
      push(out, c);
}

void decode_yolox(const float* raw, int num_anchors, int input_h, int input_w, const DecodeSpec& spec,
                  DetectionList& out) {
  if (num_anchors != yolox_anchor_count(input_h, input_w))
    throw std::invalid_argument("YOLOX output has " + std::to_string(num_anchors) + " anchors; the grids of a " +
                                std::to_string(input_h) + "x" + std::to_string(input_w) + " input have " +
                                std::to_string(yolox_anchor_count(input_h, input_w)));
  const int num_classes = int(spec.class_allowed.size());
  Candidate c;
  int gx = 0, gy = 0, stride = 0;
  for (int a = 0; a < num_anchors; ++a) {
    yolox_cell(a, input_h, input_w, &gx, &gy, &stride);
    if (decode_yolox_anchor(raw, a, num_classes, gx, gy, stride, spec.class_allowed.data(), spec.conf_threshold, &c))
      push(out, c);
  }
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
