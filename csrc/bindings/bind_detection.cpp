// Model pre- and post-processing: letterbox a batch of frames into the detector's input, decode +
// NMS + un-letterbox its output, and cut re-ID crops. One crossing each per batch, GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "images.hpp"
#include "mctrt/nms.hpp"
#include "mctrt/parallel.hpp"
#include "mctrt/preprocess.hpp"

namespace mctrt::bindings {
void bind_detection(py::module_& m) {
  m.def(
      "letterbox_batch",
      [](const py::list& images, const py::handle& out_obj, bool centre, bool to_rgb, float scale, float pad_value) {
        auto out = require_writable<float>(out_obj, "out", {py::ssize_t(images.size()), 3, -1, -1}, "(B, 3, H, W)");
        require_size(out, "out");
        std::vector<py::array> keep_alive;
        const std::vector<ImageView> views = image_views(images, keep_alive);
        LetterboxSpec spec;
        spec.out_h = int(out.shape(2));
        spec.out_w = int(out.shape(3));
        spec.centre = centre;
        spec.to_rgb = to_rgb;
        spec.scale = scale;
        spec.pad_value = pad_value;
        py::array_t<float> transforms{std::vector<py::ssize_t>{py::ssize_t(views.size()), 3}};
        float* t = transforms.mutable_data();
        float* dst = out.mutable_data();
        const std::size_t per_image = std::size_t(3) * std::size_t(spec.out_h) * std::size_t(spec.out_w);
        {
          py::gil_scoped_release release;
          // Jobs of a few dozen rows each, so that even a single frame keeps every core busy.
          constexpr int kRowsPerJob = 48;
          std::vector<LetterboxPlan> plans(views.size());
          std::vector<std::pair<std::size_t, int>> jobs;  // (image, first row)
          for (std::size_t i = 0; i < views.size(); ++i) {
            plans[i] = plan_letterbox(views[i].h, views[i].w, spec);
            for (int y = 0; y < spec.out_h; y += kRowsPerJob) jobs.emplace_back(i, y);
            t[3 * i] = plans[i].transform.ratio;
            t[3 * i + 1] = plans[i].transform.pad_x;
            t[3 * i + 2] = plans[i].transform.pad_y;
          }
          parallel_for(jobs.size(), [&](std::size_t j) {
            const auto [i, y] = jobs[j];
            const ImageView& v = views[i];
            letterbox_rows(v.data, v.h, v.w, v.row_stride, plans[i], spec, y, std::min(y + kRowsPerJob, spec.out_h),
                           dst + i * per_image);
          });
        }
        return transforms;
      },
      py::arg("images"), py::arg("out"), py::arg("centre"), py::arg("to_rgb"), py::arg("scale"),
      py::arg("pad_value"),
      "Letterbox BGR uint8 frames into out (B, 3, H, W) float32. Returns (B, 3) float32 rows of "
      "(ratio, pad_x, pad_y): input = original * ratio + pad.");

  m.def(
      "postprocess",
      [](const py::handle& raw_obj, const std::string& family, const py::handle& transforms_obj,
         const py::handle& sizes_obj, float conf_threshold, float iou_threshold, const std::vector<int>& classes,
         int num_classes, std::size_t max_det, int input_h, int input_w) {
        const bool v8 = is_yolov8(family);
        const int width = v8 ? 4 + num_classes : 5 + num_classes;
        const auto raw = require_array<float>(raw_obj, "raw", v8 ? std::initializer_list<py::ssize_t>{-1, width, -1}
                                                               : std::initializer_list<py::ssize_t>{-1, -1, width},
                                              v8 ? "(B, 4 + classes, anchors)" : "(B, anchors, 5 + classes)");
        const std::size_t batch = std::size_t(raw.shape(0));
        const auto transforms = require_array<float>(transforms_obj, "transforms", {py::ssize_t(batch), 3}, "(B, 3)");
        const auto sizes = require_array<std::int64_t>(sizes_obj, "sizes", {py::ssize_t(batch), 2}, "(B, 2)");
        const DecodeSpec spec = decode_spec(conf_threshold, classes, num_classes);
        const int anchors = int(v8 ? raw.shape(2) : raw.shape(1));
        const std::size_t per_image = std::size_t(width) * std::size_t(anchors);
        std::vector<DetectionList> results(batch);
        {
          py::gil_scoped_release release;
          parallel_for(batch, [&](std::size_t b) {
            thread_local DetectionList candidates;
            candidates.clear();
            const float* r = raw.data() + b * per_image;
            if (v8)
              decode_yolov8(r, anchors, spec, candidates);
            else
              decode_yolox(r, anchors, input_h, input_w, spec, candidates);
            nms(candidates, iou_threshold, max_det, results[b]);
            unletterbox(results[b], transform_row(transforms, b), int(sizes.data()[2 * b]), int(sizes.data()[2 * b + 1]));
          });
        }
        return detections_list(results);
      },
      py::arg("raw"), py::arg("family"), py::arg("transforms"), py::arg("sizes"), py::arg("conf_threshold"),
      py::arg("iou_threshold"), py::arg("classes"), py::arg("num_classes"), py::arg("max_det"), py::arg("input_h"),
      py::arg("input_w"),
      "Decode, NMS and map back to each frame (sizes (B, 2) = height, width). Returns a list of "
      "(xyxy (N, 4) float32, scores (N,) float32, class_ids (N,) int32).");
}

void bind_reid_preprocess(py::module_& m) {
  m.def(
      "crop_resize_batch",
      [](const py::list& images, const py::list& boxes_per_image, const py::handle& out_obj) {
        if (boxes_per_image.size() != images.size())
          throw py::value_error("boxes_per_image has " + std::to_string(boxes_per_image.size()) + " entries for " +
                                std::to_string(images.size()) + " images; give one (K, 4) array per image");
        std::vector<py::array> keep_alive;
        std::vector<ImageView> views;
        std::vector<py::array_t<float, py::array::c_style>> boxes;
        std::vector<std::pair<std::size_t, std::size_t>> jobs;  // (image, box)
        for (std::size_t i = 0; i < images.size(); ++i) {
          views.push_back(image_view(images[i], i, keep_alive));
          const std::string name = "boxes_per_image[" + std::to_string(i) + "]";
          boxes.push_back(require_boxes(boxes_per_image[i], name.c_str(), "(K, 4)"));
          for (py::ssize_t k = 0; k < boxes.back().shape(0); ++k) jobs.emplace_back(i, std::size_t(k));
        }
        auto out = require_writable<float>(out_obj, "out", {py::ssize_t(jobs.size()), 3, -1, -1}, "(total boxes, 3, H, W)");
        require_size(out, "out");
        CropSpec spec;
        spec.out_h = int(out.shape(2));
        spec.out_w = int(out.shape(3));
        float* dst = out.mutable_data();
        const std::size_t per_crop = std::size_t(3) * std::size_t(spec.out_h) * std::size_t(spec.out_w);
        py::gil_scoped_release release;
        parallel_for(jobs.size(), [&](std::size_t j) {
          const auto [i, k] = jobs[j];
          const ImageView& v = views[i];
          crop_resize(v.data, v.h, v.w, v.row_stride, boxes[i].data() + 4 * k, spec, dst + j * per_crop);
        });
      },
      py::arg("images"), py::arg("boxes_per_image"), py::arg("out"),
      "Cut every box out of its BGR frame, resize to out's H x W, RGB, ImageNet-normalise, into out "
      "(total boxes, 3, H, W) float32, in order: all boxes of image 0, then image 1, ...");
}

}  // namespace mctrt::bindings
