// Detector post-processing: decode raw YOLO outputs into candidate boxes, class-aware greedy NMS,
// and the mapping from model-input pixels back to the original frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mctrt/preprocess.hpp"

namespace mctrt {

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

// Greedy NMS within each class: highest score first, drop boxes overlapping a kept one by more than
// iou_threshold; at most max_det boxes, by descending score. Considers at most max_candidates.
void nms(const DetectionList& candidates, float iou_threshold, std::size_t max_det, DetectionList& out,
         std::size_t max_candidates = 30000);

// From model-input pixels to the original h x w frame (undo the letterbox), clipped to the frame.
void unletterbox(DetectionList& dets, const LetterboxTransform& t, int h, int w);

}  // namespace mctrt
