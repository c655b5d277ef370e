// SlotMap: integer keys (track IDs, global IDs) -> dense slots 0, 1, 2, ... of the caller's arrays.
//
// Per-track state lives in numpy columns indexed by slot (struct of arrays); finding the slots of a
// frame's IDs is the per-frame loop that C++ owns. A released slot is handed out again (last released,
// first reused), so the arrays stay as long as the most keys ever held at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace mctrt {

class SlotMap {
 public:
  // Slots of keys[0..n) into slots; a key not held yet gets a free slot and fresh[i] = 1 (else 0).
  void find_or_add(const std::int64_t* keys, std::size_t n, std::int64_t* slots, std::uint8_t* fresh);

  // Slots of keys[0..n) into slots, -1 for keys not held.
  void find(const std::int64_t* keys, std::size_t n, std::int64_t* slots) const;

  // Frees the slots of these keys; keys not held are ignored.
  void release(const std::int64_t* keys, std::size_t n);

  // Gives old_key's slot to new_key (which must not be held). Returns false if old_key is not held.
  bool rename(std::int64_t old_key, std::int64_t new_key);

  bool contains(std::int64_t key) const { return slot_of_.count(key) != 0; }
  std::size_t size() const { return slot_of_.size(); }
  // One more than the highest slot ever handed out: how long the caller's arrays must be.
  std::size_t slots_used() const { return std::size_t(next_); }
  // The keys held, ascending.
  std::vector<std::int64_t> keys() const;

  // All it holds, to copy it exactly (a central's checkpoint pickles it): the keys ascending and their
  // slots, the free slots in their order of reuse (the last is handed out first), the next new slot.
  struct State {
    std::vector<std::int64_t> keys, slots, free;
    std::int64_t next = 0;
  };
  State state() const;
  // The SlotMap a state() came from; std::invalid_argument for a state no SlotMap could be in.
  static SlotMap from_state(const State& state);

 private:
  std::unordered_map<std::int64_t, std::int64_t> slot_of_;
  std::vector<std::int64_t> free_;
  std::int64_t next_ = 0;
};

}  // namespace mctrt
