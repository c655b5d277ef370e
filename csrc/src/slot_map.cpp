// SlotMap: a hash map plus a free list.
#include "mctrt/slot_map.hpp"

#include <algorithm>
#include <stdexcept>

namespace mctrt {

void SlotMap::find_or_add(const std::int64_t* keys, std::size_t n, std::int64_t* slots, std::uint8_t* fresh) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto [it, added] = slot_of_.try_emplace(keys[i], -1);
    if (added) {
      if (free_.empty()) {
        it->second = next_++;
      } else {
        it->second = free_.back();
        free_.pop_back();
      }
    }
    slots[i] = it->second;
    fresh[i] = added ? 1 : 0;
  }
}

void SlotMap::find(const std::int64_t* keys, std::size_t n, std::int64_t* slots) const {
  for (std::size_t i = 0; i < n; ++i) {
    const auto it = slot_of_.find(keys[i]);
    slots[i] = it == slot_of_.end() ? -1 : it->second;
  }
}

void SlotMap::release(const std::int64_t* keys, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto it = slot_of_.find(keys[i]);
    if (it == slot_of_.end()) continue;
    free_.push_back(it->second);
    slot_of_.erase(it);
  }
}

bool SlotMap::rename(std::int64_t old_key, std::int64_t new_key) {
  const auto it = slot_of_.find(old_key);
  if (it == slot_of_.end()) return false;
  if (slot_of_.count(new_key)) throw std::invalid_argument("SlotMap.rename: the new key is already held");
  const std::int64_t slot = it->second;
  slot_of_.erase(it);
  slot_of_.emplace(new_key, slot);
  return true;
}

std::vector<std::int64_t> SlotMap::keys() const {
  std::vector<std::int64_t> out;
  out.reserve(slot_of_.size());
  for (const auto& [key, slot] : slot_of_) out.push_back(key);
  std::sort(out.begin(), out.end());
  return out;
}

SlotMap::State SlotMap::state() const {
  State out{keys(), {}, free_, next_};
  out.slots.reserve(out.keys.size());
  for (const std::int64_t key : out.keys) out.slots.push_back(slot_of_.at(key));
  return out;
}

SlotMap SlotMap::from_state(const State& state) {
  if (state.keys.size() != state.slots.size())
    throw std::invalid_argument("SlotMap state: keys and slots differ in length");
  SlotMap map;
  map.next_ = state.next;
  map.free_ = state.free;
  for (std::size_t i = 0; i < state.keys.size(); ++i) {
    if (state.slots[i] < 0 || state.slots[i] >= state.next)
      throw std::invalid_argument("SlotMap state: a slot outside 0..next-1");
    if (!map.slot_of_.emplace(state.keys[i], state.slots[i]).second)
      throw std::invalid_argument("SlotMap state: a key held twice");
  }
  return map;
}

}  // namespace mctrt
