// SlotMap: integer keys -> dense slots of numpy columns, a frame's keys at a time.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "mctrt/slot_map.hpp"

namespace mctrt::bindings {

void bind_slot_map(py::module_& m) {
  py::class_<SlotMap>(m, "SlotMap", R"doc(Integer keys (track or global IDs) -> dense slots 0, 1, 2, ... of the
caller's numpy columns; released slots are handed out again. Not thread-safe: one owner.)doc")
      .def(py::init<>())
      .def(
          "find_or_add",
          [](SlotMap& self, const py::handle& keys_obj) {
            const auto keys = require_array<std::int64_t>(keys_obj, "keys", {-1}, "(N,)");
            const py::ssize_t n = keys.shape(0);
            py::array_t<std::int64_t> slots(n);
            py::array_t<bool> fresh(n);
            static_assert(sizeof(bool) == sizeof(std::uint8_t));
            self.find_or_add(keys.data(), std::size_t(n), slots.mutable_data(),
                             reinterpret_cast<std::uint8_t*>(fresh.mutable_data()));
            return py::make_tuple(slots, fresh);
          },
          py::arg("keys"), "keys (N,) int64 -> (slots (N,) int64, fresh (N,) bool: the key got its slot just now).")
      .def(
          "find",
          [](const SlotMap& self, const py::handle& keys_obj) {
            const auto keys = require_array<std::int64_t>(keys_obj, "keys", {-1}, "(N,)");
            py::array_t<std::int64_t> slots(keys.shape(0));
            self.find(keys.data(), std::size_t(keys.shape(0)), slots.mutable_data());
            return slots;
          },
          py::arg("keys"), "keys (N,) int64 -> slots (N,) int64, -1 for keys not held.")
      .def(
          "release",
          [](SlotMap& self, const py::handle& keys_obj) {
            const auto keys = require_array<std::int64_t>(keys_obj, "keys", {-1}, "(N,)");
            self.release(keys.data(), std::size_t(keys.shape(0)));
          },
          py::arg("keys"), "Frees the slots of these keys (N,) int64; keys not held are ignored.")
      .def("rename", &SlotMap::rename, py::arg("old_key"), py::arg("new_key"),
           "Gives old_key's slot to new_key (not held yet; ValueError otherwise); False if old_key is not held.")
      .def("keys", &SlotMap::keys, "The keys held, ascending.")
      .def_property_readonly("slots_used", &SlotMap::slots_used,
                             "One more than the highest slot ever handed out: how long the columns must be.")
      .def(py::pickle(
          [](const SlotMap& self) {  // a central's checkpoint: the exact map, free slots in reuse order included
            const SlotMap::State state = self.state();
            return py::make_tuple(state.keys, state.slots, state.free, state.next);
          },
          [](const py::tuple& t) {
            if (t.size() != 4) throw std::invalid_argument("SlotMap: a pickled state has 4 parts");
            return SlotMap::from_state({t[0].cast<std::vector<std::int64_t>>(), t[1].cast<std::vector<std::int64_t>>(),
                                        t[2].cast<std::vector<std::int64_t>>(), t[3].cast<std::int64_t>()});
          }))
      .def("__contains__", &SlotMap::contains)
      .def("__len__", &SlotMap::size);
}

}  // namespace mctrt::bindings
