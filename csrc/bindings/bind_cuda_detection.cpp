// GPU memory, streams and the detection/re-ID kernels for Python. Device memory is passed around as
// integer addresses (a torch tensor's data_ptr(), a TensorRT binding, a DeviceBuffer's ptr) and
// streams as integer handles, so the kernels work with whichever backend owns the model's buffers.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "images.hpp"
#include "mctrt/cuda/check.hpp"
#include "mctrt/cuda/detection.hpp"
#include "mctrt/cuda/device_buffer.hpp"

namespace mctrt::bindings {
namespace {

cudaStream_t as_stream(std::uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

cuda::InputType input_type(const std::string& dtype) {
  if (dtype == "float32") return cuda::InputType::Float32;
  if (dtype == "float16") return cuda::InputType::Float16;
  throw py::value_error("dtype must be 'float32' or 'float16'; got '" + dtype + "'");
}

void* as_pointer(std::uintptr_t address, const char* name) {
  if (address == 0) throw py::value_error(std::string(name) + " is a null device address");
  return reinterpret_cast<void*>(address);
}

// A C-contiguous array's bytes, for copies to and from the device.
py::buffer_info contiguous(const py::array& array, const char* name, bool writeable) {
  if (!(array.flags() & py::array::c_style)) throw py::value_error(std::string(name) + " must be C-contiguous");
  if (writeable && !array.writeable()) throw py::value_error(std::string(name) + " must be writeable");
  return array.request();
}

class Stream {
 public:
  Stream() { MCTRT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  std::uintptr_t handle() const { return reinterpret_cast<std::uintptr_t>(stream_); }
  void synchronize() const {
    py::gil_scoped_release release;
    MCTRT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  cudaStream_t stream_ = nullptr;
};

class Bytes {  // a device allocation of a fixed size
 public:
  explicit Bytes(std::size_t nbytes) : buffer_(nbytes), nbytes_(nbytes) {}
  std::uintptr_t ptr() { return reinterpret_cast<std::uintptr_t>(buffer_.data()); }
  std::size_t nbytes() const { return nbytes_; }
  void upload(const py::array& array, std::uintptr_t stream) {
    const py::buffer_info info = contiguous(array, "array", false);
    const std::size_t bytes = std::size_t(info.size) * std::size_t(info.itemsize);
    if (bytes > nbytes_) throw py::value_error("array of " + std::to_string(bytes) + " bytes does not fit in " + std::to_string(nbytes_));
    py::gil_scoped_release release;
    MCTRT_CUDA_CHECK(cudaMemcpyAsync(buffer_.data(), info.ptr, bytes, cudaMemcpyHostToDevice, as_stream(stream)));
    MCTRT_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));  // the array may be freed once this returns
  }
  void download(py::array& array, std::uintptr_t stream) {
    const py::buffer_info info = contiguous(array, "array", true);
    const std::size_t bytes = std::size_t(info.size) * std::size_t(info.itemsize);
    if (bytes > nbytes_) throw py::value_error("array of " + std::to_string(bytes) + " bytes is larger than " + std::to_string(nbytes_));
    py::gil_scoped_release release;
    MCTRT_CUDA_CHECK(cudaMemcpyAsync(info.ptr, buffer_.data(), bytes, cudaMemcpyDeviceToHost, as_stream(stream)));
    MCTRT_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));
  }

 private:
  cuda::DeviceBuffer<std::uint8_t> buffer_;
  std::size_t nbytes_;
};

struct DetectionKernels {
  cuda::Staging staging;
  cuda::Postprocessor postprocessor;
};

struct CropKernels {
  cuda::Staging staging;
};

}  // namespace

void bind_cuda_detection(py::module_& m) {
  py::class_<Stream>(m, "Stream", "A CUDA stream of its own (non-blocking).")
      .def(py::init<>())
      .def_property_readonly("handle", &Stream::handle, "The cudaStream_t as an integer.")
      .def("synchronize", &Stream::synchronize);

  py::class_<Bytes>(m, "DeviceBuffer", "nbytes of GPU memory, allocated once.")
      .def(py::init<std::size_t>(), py::arg("nbytes"))
      .def_property_readonly("ptr", &Bytes::ptr)
      .def_property_readonly("nbytes", &Bytes::nbytes)
      .def("upload", &Bytes::upload, py::arg("array"), py::arg("stream"), "Copy a host array in (waits for it).")
      .def("download", &Bytes::download, py::arg("array"), py::arg("stream"), "Copy into a host array (waits for it).");

  m.def(
      "copy_to_host",
      [](std::uintptr_t src, py::array& array, std::uintptr_t stream) {
        const py::buffer_info info = contiguous(array, "array", true);
        void* from = as_pointer(src, "src");
        py::gil_scoped_release release;
        MCTRT_CUDA_CHECK(cudaMemcpyAsync(info.ptr, from, std::size_t(info.size) * std::size_t(info.itemsize),
                                         cudaMemcpyDeviceToHost, as_stream(stream)));
        MCTRT_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));
      },
      py::arg("src"), py::arg("array"), py::arg("stream"),
      "Fill a host array from device address src, after the work queued on stream; waits for it.");

  py::class_<DetectionKernels>(m, "DetectionKernels", "The detector's letterbox and decode + NMS on the GPU.")
      .def(py::init<>())
      .def(
          "letterbox",
          [](DetectionKernels& self, const py::list& images, std::uintptr_t out, const std::string& dtype, int out_h,
             int out_w, bool centre, bool to_rgb, float scale, float pad_value, std::uintptr_t stream) {
            std::vector<py::array> keep_alive;
            const std::vector<ImageView> views = image_views(images, keep_alive);
            LetterboxSpec spec;
            spec.out_h = out_h;
            spec.out_w = out_w;
            spec.centre = centre;
            spec.to_rgb = to_rgb;
            spec.scale = scale;
            spec.pad_value = pad_value;
            const cuda::InputType type = input_type(dtype);
            void* dst = as_pointer(out, "out");
            std::vector<LetterboxTransform> transforms;
            {
              py::gil_scoped_release release;
              transforms = cuda::letterbox_async(self.staging, views, spec, dst, type, as_stream(stream));
            }
            return transforms_array(transforms);
          },
          py::arg("images"), py::arg("out"), py::arg("dtype"), py::arg("out_h"), py::arg("out_w"), py::arg("centre"),
          py::arg("to_rgb"), py::arg("scale"), py::arg("pad_value"), py::arg("stream"),
          "Letterbox BGR uint8 frames into the (B, 3, out_h, out_w) device buffer at address out, on stream. "
          "Returns (B, 3) float32 rows of (ratio, pad_x, pad_y), as mctrt._core.letterbox_batch.")
      .def(
          "postprocess",
          [](DetectionKernels& self, std::uintptr_t raw, int batch, int num_anchors, const std::string& family,
             const py::handle& transforms_obj, const py::handle& sizes_obj, float conf_threshold, float iou_threshold,
             const std::vector<int>& classes, int num_classes, std::size_t max_det, int input_h, int input_w,
             std::uintptr_t stream) {
            const auto transforms = require_array<float>(transforms_obj, "transforms", {py::ssize_t(batch), 3}, "(B, 3)");
            const auto sizes = require_array<std::int64_t>(sizes_obj, "sizes", {py::ssize_t(batch), 2}, "(B, 2)");
            cuda::PostprocessSpec spec;
            spec.yolov8 = is_yolov8(family);
            spec.num_anchors = num_anchors;
            spec.num_classes = num_classes;
            spec.input_h = input_h;
            spec.input_w = input_w;
            spec.decode = decode_spec(conf_threshold, classes, num_classes);
            spec.iou_threshold = iou_threshold;
            spec.max_det = max_det;
            const auto* data = static_cast<const float*>(as_pointer(raw, "raw"));
            std::vector<DetectionList> results;
            {
              py::gil_scoped_release release;
              results = self.postprocessor.run(data, batch, spec, as_stream(stream));
              for (std::size_t b = 0; b < results.size(); ++b)
                unletterbox(results[b], transform_row(transforms, b), int(sizes.data()[2 * b]), int(sizes.data()[2 * b + 1]));
            }
            return detections_list(results);
          },
          py::arg("raw"), py::arg("batch"), py::arg("num_anchors"), py::arg("family"), py::arg("transforms"),
          py::arg("sizes"), py::arg("conf_threshold"), py::arg("iou_threshold"), py::arg("classes"),
          py::arg("num_classes"), py::arg("max_det"), py::arg("input_h"), py::arg("input_w"), py::arg("stream"),
          "Decode + NMS the raw float32 output at device address raw, as mctrt._core.postprocess does.");

  py::class_<CropKernels>(m, "CropKernels", "Re-ID crops cut and resized on the GPU.")
      .def(py::init<>())
      .def(
          "crop_resize",
          [](CropKernels& self, const py::list& images, const py::list& boxes_per_image, std::uintptr_t out,
             const std::string& dtype, int out_h, int out_w, std::uintptr_t stream) {
            if (boxes_per_image.size() != images.size())
              throw py::value_error("boxes_per_image has " + std::to_string(boxes_per_image.size()) + " entries for " +
                                    std::to_string(images.size()) + " images; give one (K, 4) array per image");
            std::vector<py::array> keep_alive;
            const std::vector<ImageView> views = image_views(images, keep_alive);
            std::vector<cuda::CropBox> boxes;
            for (std::size_t i = 0; i < images.size(); ++i) {
              const std::string name = "boxes_per_image[" + std::to_string(i) + "]";
              const auto b = require_boxes(boxes_per_image[i], name.c_str(), "(K, 4)");
              for (py::ssize_t k = 0; k < b.shape(0); ++k)
                boxes.push_back({int(i), {b.data()[4 * k], b.data()[4 * k + 1], b.data()[4 * k + 2], b.data()[4 * k + 3]}});
            }
            CropSpec spec;
            spec.out_h = out_h;
            spec.out_w = out_w;
            const cuda::InputType type = input_type(dtype);
            void* dst = as_pointer(out, "out");
            py::gil_scoped_release release;
            cuda::crop_resize_async(self.staging, views, boxes, spec, dst, type, as_stream(stream));
          },
          py::arg("images"), py::arg("boxes_per_image"), py::arg("out"), py::arg("dtype"), py::arg("out_h"),
          py::arg("out_w"), py::arg("stream"),
          "Cut every box into the (total boxes, 3, out_h, out_w) device buffer at out, as "
          "mctrt._core.crop_resize_batch does.");
}

}  // namespace mctrt::bindings
