// ByteTracker::update, step by step in the order of the official BYTETracker.update.
#include "mctrt/byte_tracker.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "mctrt/boxes.hpp"

namespace mctrt {
namespace {

constexpr double kSkippedFrame = 1.5;  // frames since the last update at which one counts as skipped

void require(bool ok, const char* field, const std::string& range, double value) {
  if (!ok)
    throw std::invalid_argument(std::string(field) + " must be " + range + "; got " + std::to_string(value));
}

}  // namespace

void ByteTrackConfig::validate() const {
  require(track_thresh >= 0 && track_thresh <= 1, "track_thresh", "in [0, 1]", track_thresh);
  require(low_thresh >= 0 && low_thresh <= track_thresh, "low_thresh", "in [0, track_thresh]", low_thresh);
  require(new_track_thresh >= 0 && new_track_thresh <= 1, "new_track_thresh", "in [0, 1]", new_track_thresh);
  // Cost limits stay <= 1: association relies on it, since a pair of boxes that do not overlap costs
  // exactly 1 and is never even listed as a candidate.
  require(match_thresh >= 0 && match_thresh <= 1, "match_thresh", "in [0, 1]", match_thresh);
  require(second_match_thresh >= 0 && second_match_thresh <= 1, "second_match_thresh", "in [0, 1]",
          second_match_thresh);
  require(unconfirmed_match_thresh >= 0 && unconfirmed_match_thresh <= 1, "unconfirmed_match_thresh", "in [0, 1]",
          unconfirmed_match_thresh);
  require(duplicate_iou >= 0 && duplicate_iou <= 1, "duplicate_iou", "in [0, 1]", duplicate_iou);
  require(distance_gate >= 0 && std::isfinite(distance_gate), "distance_gate", ">= 0 (0 turns it off)", distance_gate);
  require(motion_gate >= 0 && std::isfinite(motion_gate), "motion_gate", ">= 0 (0 turns it off)", motion_gate);
  require(velocity_noise > 0 && std::isfinite(velocity_noise), "velocity_noise", "a positive fraction of the box height",
          velocity_noise);
  require(confirm_frames == 0 || confirm_frames >= 2, "confirm_frames", "0 (off) or at least 2", confirm_frames);
  require(track_buffer >= 0, "track_buffer", ">= 0", track_buffer);
  require(frame_rate > 0 && std::isfinite(frame_rate), "frame_rate", "a positive number of frames per second",
          frame_rate);
  require(frame_rate / 30.0 * track_buffer <= double(std::numeric_limits<int>::max()), "track_buffer * frame_rate / 30",
          "at most " + std::to_string(std::numeric_limits<int>::max()) + " frames", frame_rate / 30.0 * track_buffer);
}

ByteTracker::ByteTracker(const ByteTrackConfig& config) : config_(config), kalman_(config.velocity_noise) {
  config_.validate();
  max_frames_lost_ = config_.max_frames_lost();
}

std::vector<std::int64_t> ByteTracker::reset() {
  std::vector<std::int64_t> removed;
  for (const auto* list : {&tracked_, &lost_})
    for (const Slot s : *list)
      if (pool_[s].track_id > 0) removed.push_back(pool_[s].track_id);
  pool_.clear();
  free_slots_.clear();
  tracked_.clear();
  lost_.clear();
  frame_id_ = 0;
  next_id_ = 1;
  clock_ = 0.0;
  last_time_ = std::numeric_limits<double>::quiet_NaN();
  return removed;
}

ByteTracker::Slot ByteTracker::new_slot() {
  if (!free_slots_.empty()) {
    const Slot s = free_slots_.back();
    free_slots_.pop_back();
    pool_[s] = Track();
    return s;
  }
  pool_.emplace_back();
  return Slot(pool_.size() - 1);
}

void ByteTracker::confirm(Track& t) {
  t.is_activated = true;  // its ID comes with its first output (write_output), so none goes unused
}

void ByteTracker::absorb(Track& t, std::size_t det) {
  const float* box = xyxy_ + 4 * det;
  const auto xyah = xyxy_to_xyah(box);
  // A filter whose covariance has degenerated restarts from the detection rather than failing the frame.
  if (!kalman_.update(t.kalman, xyah)) t.kalman = kalman_.initiate(xyah);
  for (int k = 0; k < 4; ++k) t.det_xyxy[k] = box[k];
  t.state = State::kTracked;
  t.score = scores_[det];
  t.det_index = std::int64_t(det);
  t.frame_id = frame_id_;
  t.seen_at = clock_;
  if (t.is_activated || ++t.hits >= t.hits_needed) confirm(t);  // hits count only while tentative
}

void ByteTracker::track_boxes(const std::vector<Slot>& tracks) {
  boxes_a_.resize(4 * tracks.size());
  for (std::size_t r = 0; r < tracks.size(); ++r) {
    const auto box = xyah_to_xyxy(pool_[tracks[r]].kalman.mean.data());
    for (int k = 0; k < 4; ++k) boxes_a_[4 * r + k] = box[k];
  }
}

void ByteTracker::match(const std::vector<Slot>& tracks, const std::vector<std::size_t>& dets, bool fuse,
                        double limit) {
  const std::size_t n = tracks.size(), m = dets.size();
  track_boxes(tracks);
  boxes_b_.resize(4 * m);
  for (std::size_t c = 0; c < m; ++c)
    for (int k = 0; k < 4; ++k) boxes_b_[4 * c + k] = double(xyxy_[4 * dets[c] + k]);
  // Cost = 1 - IoU (x score). Pairs that do not overlap cost 1, at or above every valid threshold,
  // so only overlapping pairs within the limit are candidates, and the assignment splits into small
  // independent parts.
  entries_.clear();
  claims_.assign(m, 0);
  for (const OverlapPair& p : overlaps_.find(boxes_a_.data(), n, boxes_b_.data(), m)) {
    const double similarity = fuse ? p.iou * double(scores_[dets[p.b]]) : p.iou;
    if (1.0 - similarity > limit) continue;
    entries_.push_back({p.a, p.b, 1.0 - similarity});
    ++claims_[p.b];
  }
  // A box that more than one track could take goes only to those whose motion expects it; a box
  // near one track alone is left to IoU, as in ByteTrack (a seated, half-hidden person's boxes jump
  // more than the filter's spread, and no one else is there to take them).
  if (config_.motion_gate > 0)
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const LapEntry& e) {
                                    return claims_[e.col] > 1 &&
                                           !moves_as_predicted(pool_[tracks[e.row]], xyxy_ + 4 * dets[e.col]);
                                  }),
                   entries_.end());
  row_to_col_.resize(n);
  col_to_row_.resize(m);
  lap_.solve_sparse(n, m, entries_, limit, row_to_col_.data(), col_to_row_.data());
}

// Whether a box lies where the track's motion model expects it: the squared Mahalanobis distance of
// its (cx, cy, aspect, height) from the prediction at most motion_gate (chi-square with 4 degrees of
// freedom, as DeepSORT gates). IoU alone lets a track step onto a nearer, taller person who walks or
// stops in front of it: a box a third taller and lower overlaps the old one well. The filter's spread
// scales with the box height and grows with the time since the track was last seen, so lost tracks
// are judged more loosely. A degenerate filter (no distance) is not judged.
bool ByteTracker::moves_as_predicted(const Track& t, const float* box) const {
  return !(kalman_.squared_distance(t.kalman, xyxy_to_xyah(box), false) > config_.motion_gate);
}

const TrackList& ByteTracker::update(const float* xyxy, const float* scores, std::size_t n, double time) {
  check_xyxy(xyxy, n, "xyxy");
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(scores[i]))
      throw std::invalid_argument("scores[" + std::to_string(i) + "] is not finite; scores must be numbers");
  if (std::isinf(time)) throw std::invalid_argument("time must be finite seconds, or NaN when unknown");
  xyxy_ = xyxy;
  scores_ = scores;
  ++frame_id_;
  // Frames elapsed at frame_rate: the real gap when both times are known, else one frame. Rounded
  // to a thousandth of a frame: Unix times in seconds carry ~1e-7 s of rounding, which must not make
  // a steady video differ from one given no times. A time that goes back counts as no time, and the
  // next gap is measured from the latest time, not counted twice; unless it goes back by more than
  // the lost-track buffer: a clock set back, whose new times are taken from then on.
  const double dt = std::isnan(time) || std::isnan(last_time_) || frame_id_ == 1
                        ? 1.0 : std::max(0.0, std::round((time - last_time_) * config_.frame_rate * 1000.0) / 1000.0);
  if (!std::isnan(time)) {
    const bool set_back = (last_time_ - time) * config_.frame_rate > max_frames_lost_;
    last_time_ = std::isnan(last_time_) || set_back ? time : std::max(last_time_, time);
  }
  clock_ += dt;

  // Split detections by score; boxes without area cannot be tracked (no aspect ratio). Scores are
  // float32, so thresholds are compared in float32: a score of 0.1f is at a threshold of 0.1.
  const float track_thresh = float(config_.track_thresh), low_thresh = float(config_.low_thresh);
  high_.clear();
  low_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const float* b = xyxy + 4 * i;
    if (!(b[2] > b[0] && b[3] > b[1])) continue;
    if (scores[i] > track_thresh)
      high_.push_back(i);
    else if (scores[i] > low_thresh)
      low_.push_back(i);
  }

  activated_.clear();
  refound_.clear();
  newly_lost_.clear();
  removed_.clear();
  unconfirmed_.clear();
  pool_slots_.clear();
  // A track unseen for longer than the lost-track buffer goes before matching, whatever its state:
  // after a gap (a stalled camera, dropped frames) one followed until then would otherwise be matched
  // as if just seen, and its ID given to whoever stands near. Counting whole frames, a lost track is
  // at most max_frames_lost_ + 1 frames old here and is matched once more, as in the official code.
  auto expired = [&](Slot s) {
    Track& t = pool_[s];
    if (!(clock_ - t.seen_at > max_frames_lost_ + 1.0)) return false;
    t.state = State::kRemoved;
    removed_.push_back(s);
    return true;
  };
  for (const Slot s : tracked_)
    if (!expired(s)) (pool_[s].is_activated ? pool_slots_ : unconfirmed_).push_back(s);
  for (const Slot s : lost_)  // the two lists never share a track
    if (!expired(s)) pool_slots_.push_back(s);
  for (const Slot s : pool_slots_) {
    Track& t = pool_[s];
    if (t.state != State::kTracked) t.kalman.mean[7] = 0.0;  // a lost track's height stops changing
    kalman_.predict(t.kalman, dt);
  }

  // First association: high-score detections with confirmed and lost tracks.
  match(pool_slots_, high_, config_.fuse_score, config_.match_thresh);
  remaining_.clear();
  leftover_.clear();
  for (std::size_t r = 0; r < pool_slots_.size(); ++r) {
    Track& t = pool_[pool_slots_[r]];
    const std::int64_t c = row_to_col_[r];
    if (c < 0) {
      if (t.state == State::kTracked) remaining_.push_back(pool_slots_[r]);
      continue;
    }
    (t.state == State::kTracked ? activated_ : refound_).push_back(pool_slots_[r]);
    absorb(t, high_[std::size_t(c)]);
  }
  for (std::size_t c = 0; c < high_.size(); ++c)
    if (col_to_row_[c] < 0) leftover_.push_back(high_[c]);

  // Second association: low-score detections keep the still-unmatched tracked tracks alive.
  match(remaining_, low_, false, config_.second_match_thresh);
  for (std::size_t r = 0; r < remaining_.size(); ++r) {
    Track& t = pool_[remaining_[r]];
    const std::int64_t c = row_to_col_[r];
    if (c >= 0) {
      absorb(t, low_[std::size_t(c)]);
      activated_.push_back(remaining_[r]);
    } else {
      t.state = State::kLost;
      newly_lost_.push_back(remaining_[r]);
    }
  }

  // Tentative tracks (started last frame) against the high-score leftovers; unmatched ones go.
  match(unconfirmed_, leftover_, config_.fuse_score, config_.unconfirmed_match_thresh);
  for (std::size_t r = 0; r < unconfirmed_.size(); ++r) {
    Track& t = pool_[unconfirmed_[r]];
    const std::int64_t c = row_to_col_[r];
    if (c >= 0) {
      absorb(t, leftover_[std::size_t(c)]);
      activated_.push_back(unconfirmed_[r]);
    } else {
      t.state = State::kRemoved;
      removed_.push_back(unconfirmed_[r]);
    }
  }

  taken_.assign(leftover_.size(), 0);
  for (std::size_t c = 0; c < leftover_.size(); ++c) taken_[c] = col_to_row_[c] >= 0;
  // Only when processing fell behind the camera (a frame or more skipped): at the camera's own rate
  // IoU finds everyone who kept moving, and the tracks it lets go are people leaving or hidden.
  if (config_.distance_gate > 0 && dt >= kSkippedFrame) match_by_distance();

  // New tentative tracks from confident leftovers (confirmed at once only on the first frame); with
  // confirm_frames, from the other high leftovers too, confirmed once seen that many frames in a row.
  for (std::size_t c = 0; c < leftover_.size(); ++c) {
    if (taken_[c]) continue;
    const std::size_t det = leftover_[c];
    const bool confident = scores[det] >= float(config_.new_track_thresh);
    if (!confident && config_.confirm_frames == 0) continue;
    const Slot s = new_slot();
    Track& t = pool_[s];
    t.kalman = kalman_.initiate(xyxy_to_xyah(xyxy + 4 * det));
    for (int k = 0; k < 4; ++k) t.det_xyxy[k] = xyxy[4 * det + k];
    t.score = scores[det];
    t.det_index = std::int64_t(det);
    t.frame_id = t.start_frame = frame_id_;
    t.seen_at = clock_;
    t.hits = 1;
    t.hits_needed = confident ? 2 : config_.confirm_frames;
    if (frame_id_ == 1 && confident) confirm(t);
    activated_.push_back(s);
  }

  // Lost tracks past the buffer: the newly lost too, whose last sighting can lie before a long gap.
  for (const auto* list : {&lost_, &newly_lost_})
    for (const Slot s : *list) {
      Track& t = pool_[s];
      if (t.state == State::kLost && clock_ - t.seen_at > max_frames_lost_) {
        t.state = State::kRemoved;
        removed_.push_back(s);
      }
    }

  // tracked = still-tracked + activated + refound (each once); lost = old lost still lost + newly lost.
  ++epoch_;
  listed_epoch_.resize(pool_.size(), 0);
  next_tracked_.clear();
  auto add_tracked = [&](Slot s) {
    if (listed_epoch_[s] == epoch_) return;
    listed_epoch_[s] = epoch_;
    next_tracked_.push_back(s);
  };
  for (const Slot s : tracked_)
    if (pool_[s].state == State::kTracked) add_tracked(s);
  for (const Slot s : activated_) add_tracked(s);
  for (const Slot s : refound_) add_tracked(s);
  next_lost_.clear();
  for (const Slot s : lost_)
    if (pool_[s].state == State::kLost) next_lost_.push_back(s);
  for (const Slot s : newly_lost_)
    if (pool_[s].state == State::kLost) next_lost_.push_back(s);  // not those found again by distance
  tracked_.swap(next_tracked_);
  lost_.swap(next_lost_);
  output_.removed_id.clear();
  for (const Slot s : removed_) {
    free_slots_.push_back(s);
    if (pool_[s].track_id > 0) output_.removed_id.push_back(pool_[s].track_id);
  }

  remove_duplicates();
  write_output();
  xyxy_ = scores_ = nullptr;
  return output_;
}

// Third association, in updates at least kSkippedFrame frames after the last: the tracks lost in
// this update (tracked until the last one, but no box overlapped enough, as when people move more
// than about their width between processed frames: low frame rates, dropped frames) against the
// confident boxes still unmatched, by the squared
// Mahalanobis distance of each box's centre from the track's predicted centre. The filter's spread
// scales with the box height and with the time since the last frame, so the gate widens for near or
// fast people and long gaps. Heights must agree within a factor of kMaxHeightRatio, as the distance
// alone ignores size. Tracks lost for longer are left out: a person who walked out of view is then
// too easily given to someone else walking in nearby (measured: README, Tracking).
void ByteTracker::match_by_distance() {
  constexpr double kMaxHeightRatio = 1.5;
  strays_.clear();
  for (const Slot s : newly_lost_)
    if (pool_[s].state == State::kLost) strays_.push_back(s);
  free_.clear();
  for (std::size_t c = 0; c < leftover_.size(); ++c)
    if (!taken_[c]) free_.push_back(c);
  if (strays_.empty() || free_.empty()) return;
  entries_.clear();
  std::array<double, 4> mean;
  std::array<double, 16> cov;
  for (std::size_t r = 0; r < strays_.size(); ++r) {
    kalman_.project(pool_[strays_[r]].kalman, mean, cov);
    const double a = cov[0], b = cov[1], d = cov[5], det = a * d - b * b;
    if (!(det > 0) || !(mean[3] > 0)) continue;
    for (std::size_t k = 0; k < free_.size(); ++k) {
      const auto xyah = xyxy_to_xyah(xyxy_ + 4 * leftover_[free_[k]]);
      const double ratio = xyah[3] / mean[3];
      if (!(ratio <= kMaxHeightRatio && ratio >= 1.0 / kMaxHeightRatio)) continue;
      const double dx = xyah[0] - mean[0], dy = xyah[1] - mean[1];
      const double d2 = (d * dx * dx - 2 * b * dx * dy + a * dy * dy) / det;
      if (d2 <= config_.distance_gate) entries_.push_back({std::uint32_t(r), std::uint32_t(k), d2});
    }
  }
  row_to_col_.resize(strays_.size());
  col_to_row_.resize(free_.size());
  lap_.solve_sparse(strays_.size(), free_.size(), entries_, config_.distance_gate, row_to_col_.data(),
                    col_to_row_.data());
  for (std::size_t r = 0; r < strays_.size(); ++r) {
    const std::int64_t k = row_to_col_[r];
    if (k < 0) continue;
    absorb(pool_[strays_[r]], leftover_[free_[std::size_t(k)]]);
    refound_.push_back(strays_[r]);
    taken_[free_[std::size_t(k)]] = 1;
  }
}

void ByteTracker::remove_duplicates() {
  const std::size_t n = tracked_.size(), m = lost_.size();
  if (n == 0 || m == 0) return;
  track_boxes(lost_);
  boxes_b_.swap(boxes_a_);
  track_boxes(tracked_);
  drop_a_.assign(n, 0);
  drop_b_.assign(m, 0);
  bool any = false;
  for (const OverlapPair& pair : overlaps_.find(boxes_a_.data(), n, boxes_b_.data(), m)) {
    if (!(pair.iou > config_.duplicate_iou)) continue;
    const Track& a = pool_[tracked_[pair.a]];
    const Track& b = pool_[lost_[pair.b]];
    // Keep the one with the longer history.
    if (a.frame_id - a.start_frame > b.frame_id - b.start_frame)
      drop_b_[pair.b] = 1;
    else
      drop_a_[pair.a] = 1;
    any = true;
  }
  if (!any) return;
  auto compact = [&](std::vector<Slot>& list, const std::vector<std::uint8_t>& drop) {
    std::size_t kept = 0;
    for (std::size_t k = 0; k < list.size(); ++k) {
      if (drop[k]) {
        pool_[list[k]].state = State::kRemoved;
        free_slots_.push_back(list[k]);
        if (pool_[list[k]].track_id > 0) output_.removed_id.push_back(pool_[list[k]].track_id);
      } else {
        list[kept++] = list[k];
      }
    }
    list.resize(kept);
  };
  compact(tracked_, drop_a_);
  compact(lost_, drop_b_);
}

void ByteTracker::write_output() {
  output_.xyxy.clear();
  output_.track_id.clear();
  output_.score.clear();
  output_.det_index.clear();
  for (const Slot s : tracked_) {
    Track& t = pool_[s];
    if (!t.is_activated) continue;
    // Confirmed tracks get their IDs here, in the order they were confirmed (tracked_ keeps it), after
    // remove_duplicates: a track confirmed and dropped as a duplicate in one update used one up.
    if (t.track_id == 0) t.track_id = next_id_++;
    output_.xyxy.insert(output_.xyxy.end(), t.det_xyxy, t.det_xyxy + 4);
    output_.track_id.push_back(t.track_id);
    output_.score.push_back(t.score);
    output_.det_index.push_back(t.frame_id == frame_id_ ? t.det_index : -1);
  }
}

}  // namespace mctrt
