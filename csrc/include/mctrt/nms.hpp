// Detector post-processing: decode raw YOLO outputs into candidate boxes, class-aware greedy NMS,
// and the mapping from model-input pixels back to the original frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mctrt/host_device.hpp"
#include "mctrt/preprocess.hpp"

namespace mctrt {

// One decoded anchor: the box in model-input pixels, its best allowed class and that class's score.
struct Candidate {
  float xyxy[4];
  float score;
  int class_id;
};

// The best allowed class of one anchor, scores read as score(c); false when none reaches conf.
template <typename ScoreOf>
MCTRT_HOST_DEVICE inline bool best_class(ScoreOf score, int num_classes, const std::uint8_t* allowed, float conf,
                                         Candidate* out) {
  float best = -1.f;
  int best_class = -1;
  for (int c = 0; c < num_classes; ++c) {
    if (!allowed[c]) continue;
    const float s = score(c);
    if (s > best) {
      best = s;
      best_class = c;
    }
  }
  if (best_class < 0 || !(best >= conf)) return false;
  out->score = best;
  out->class_id = best_class;
  return true;
}

MCTRT_HOST_DEVICE inline void set_centre_box(Candidate* out, float cx, float cy, float w, float h) {
  out->xyxy[0] = cx - w / 2;
  out->xyxy[1] = cy - h / 2;
  out->xyxy[2] = cx + w / 2;
  out->xyxy[3] = cy + h / 2;
}

// YOLOv8 anchor a of a (4 + C, A) channel-major output: cx, cy, w, h in input pixels, then C class
// scores (already sigmoid).
MCTRT_HOST_DEVICE inline bool decode_yolov8_anchor(const float* raw, int a, int num_anchors, int num_classes,
                                                   const std::uint8_t* allowed, float conf, Candidate* out) {
  const std::size_t n = std::size_t(num_anchors);
  auto score = [&](int c) { return raw[(4 + std::size_t(c)) * n + std::size_t(a)]; };
  if (!best_class(score, num_classes, allowed, conf, out)) return false;
  set_centre_box(out, raw[a], raw[n + a], raw[2 * n + a], raw[3 * n + a]);
  return true;
}

// The grid cell and stride of YOLOX anchor a (grids of strides 8, 16, 32, row-major); false past the
// last grid.
MCTRT_HOST_DEVICE inline bool yolox_cell(int a, int input_h, int input_w, int* gx, int* gy, int* stride) {
  for (int s = 8; s <= 32; s *= 2) {
    const int gh = input_h / s, gw = input_w / s;
    if (a < gh * gw) {
      *gx = a % gw;
      *gy = a / gw;
      *stride = s;
      return true;
    }
    a -= gh * gw;
  }
  return false;
}

// YOLOX anchor a of an (A, 5 + C) output: xy = (o + cell) * stride, wh = exp(o) * stride,
// score = objectness * class score.
MCTRT_HOST_DEVICE inline bool decode_yolox_anchor(const float* raw, int a, int num_classes, int gx, int gy, int stride,
                                                  const std::uint8_t* allowed, float conf, Candidate* out) {
  const float* row = raw + std::size_t(a) * (5 + std::size_t(num_classes));
  auto score = [&](int c) { return row[4] * row[5 + c]; };
  if (!best_class(score, num_classes, allowed, conf, out)) return false;
  // exp in double, rounded once to float: the same value from glibc and from CUDA (whose expf may
  // differ in the last bits), so CPU and GPU keep the same boxes.
  const float w = float(exp(double(row[2]))), h = float(exp(double(row[3])));
  set_centre_box(out, (row[0] + gx) * stride, (row[1] + gy) * stride, w * stride, h * stride);
  return true;
}

// The number of YOLOX anchors (cells of the 8, 16, 32 grids) of an input_h x input_w input.
MCTRT_HOST_DEVICE inline int yolox_anchor_count(int input_h, int input_w) {
  int n = 0;
  for (int s = 8; s <= 32; s *= 2) n += (input_h / s) * (input_w / s);
  return n;
}

// Struct of arrays, N rows.
struct DetectionList {
  std::vector<float> xyxy;          // (N, 4)
  std::vector<float> score;         // (N,)
  std::vector<std::int32_t> class_id;  // (N,)
  std::size_t size() const { return score.size(); }
  void clear() {
    xyxy.clear();
    score.clear();
    class_id.clear();
  }
};

// Which classes to keep (class_allowed[c] != 0) and the minimum score.
struct DecodeSpec {
  float conf_threshold = 0.25f;
  std::vector<std::uint8_t> class_allowed;
};

// YOLOv8 output for one image, (4 + C, A) channel-major: cx, cy, w, h in input pixels, then C class
// scores (already sigmoid). Each anchor keeps its best allowed class if that scores >= the threshold.
void decode_yolov8(const float* raw, int num_anchors, const DecodeSpec& spec, DetectionList& out);

// YOLOX output for one image, (A, 5 + C) over the grids of strides 8, 16, 32 of an input_h x input_w
// input: xy = (o + cell) * stride, wh = exp(o) * stride, score = objectness * class score.
void decode_yolox(const float* raw, int num_anchors, int input_h, int input_w, const DecodeSpec& spec,
                  DetectionList& out);

// At most this many candidates (the best scoring) enter NMS, on the CPU and the GPU alike.
constexpr std::size_t kMaxNmsCandidates = 30000;

// Greedy NMS within each class: highest score first, drop boxes overlapping a kept one by more than
// iou_threshold; at most max_det boxes, by descending score. Considers at most max_candidates.
void nms(const DetectionList& candidates, float iou_threshold, std::size_t max_det, DetectionList& out,
         std::size_t max_candidates = kMaxNmsCandidates);

// From model-input pixels to the original h x w frame (undo the letterbox), clipped to the frame.
void unletterbox(DetectionList& dets, const LetterboxTransform& t, int h, int w);

}  // namespace mctrt
