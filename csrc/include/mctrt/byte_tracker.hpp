// ByteTrack (Zhang et al., ECCV 2022) for one camera: every detection box counts, the low-score ones
// only to keep existing tracks alive through occlusion.
//
// Per frame: split detections by score; associate high-score ones with confirmed and lost tracks
// (Kalman-predicted) by IoU; associate low-score ones with the tracked tracks still unmatched;
// match one-frame-old tentative tracks with the high-score leftovers; start tentative tracks from
// confident leftovers; drop lost tracks whose buffer ran out; drop one of each tracked/lost pair that
// overlap almost entirely. It follows the official code's order and lists exactly, with the
// deliberate differences documented in python/mctrt/config/models.py (ByteTrackConfig).
//
// IDs start at 1 per tracker instance and are given when a track is confirmed. The tracker owns
// every buffer it uses; after warm-up an update allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mctrt/iou.hpp"
#include "mctrt/kalman_filter.hpp"
#include "mctrt/lapjv.hpp"

namespace mctrt {

// Mirrors mctrt.config.ByteTrackConfig field for field (names, defaults; a test checks both).
struct ByteTrackConfig {
  double track_thresh = 0.6;              // high/low split: score > track_thresh is high
  double low_thresh = 0.1;                // scores at or below are ignored
  double new_track_thresh = 0.7;          // a new track needs score >= this
  double match_thresh = 0.9;              // first association: max cost 1 - IoU * score
  double second_match_thresh = 0.5;       // low-score association: max cost 1 - IoU
  double unconfirmed_match_thresh = 0.7;  // tentative tracks: max cost 1 - IoU * score
  double duplicate_iou = 0.85;            // a tracked and a lost track overlapping more are duplicates
  double distance_gate = 0.0;             // third association: max squared Mahalanobis centre distance; 0 = off
  double motion_gate = 0.0;               // a box 2+ tracks could take: max squared Mahalanobis xyah distance; 0 = off
  double velocity_noise = KalmanFilter::kStdWeightVelocity;  // the motion model's, per frame, x box height
  int confirm_frames = 0;                 // a high box below new_track_thresh starts a track seen this many
                                          // frames in a row (>= 2); 0 = off
  bool fuse_score = true;                 // multiply IoU by the detection score in the cost
  int track_buffer = 30;                  // frames a lost track is kept, at 30 fps
  double frame_rate = 30.0;               // of the video; scales track_buffer

  // Throws std::invalid_argument naming the first field out of range and its valid range.
  void validate() const;
  // track_buffer converted to frames of this video. Not truncated: with capture times the tracker's
  // clock counts fractions of frames; counting whole frames, d > x is d > floor(x), the official
  // code's truncation.
  double max_frames_lost() const { return frame_rate / 30.0 * track_buffer; }
};

// The tracker's output for one frame, struct of arrays with M rows.
struct TrackList {
  std::vector<float> xyxy;               // (M, 4): the box of the detection matched this frame
  std::vector<std::int64_t> track_id;    // (M,)
  std::vector<float> score;              // (M,)
  std::vector<std::int64_t> det_index;   // (M,): row in this frame's input, -1 for a predicted box
  // (K,): IDs of confirmed tracks removed for good in this update (lost too long, or the shorter of a
  // duplicate pair). The tracker is the one owner of track lifetime: downstream state follows this.
  std::vector<std::int64_t> removed_id;
  std::size_t size() const { return track_id.size(); }
};

class ByteTracker {
 public:
  explicit ByteTracker(const ByteTrackConfig& config = ByteTrackConfig());

  // xyxy (n, 4), scores (n,). Validates everything before changing any state (std::invalid_argument
  // on a non-finite value or an inverted box); boxes with zero width or height are ignored.
  // Returns the confirmed tracks matched in this frame and the confirmed ones removed in it; the
  // reference stays valid until the next call.
  // time: the frame's capture time in seconds, or NaN when unknown (then one frame has passed). With
  // times, the Kalman filter predicts across the real gap since the last update (dropped frames,
  // uneven rates) and a lost track is kept for track_buffer / 30 s, whatever frames arrive.
  const TrackList& update(const float* xyxy, const float* scores, std::size_t n,
                          double time = std::numeric_limits<double>::quiet_NaN());

  // Forgets every track; returns the IDs of the confirmed ones, which are thereby removed.
  std::vector<std::int64_t> reset();
  const ByteTrackConfig& config() const { return config_; }
  std::int64_t frame_id() const { return frame_id_; }
  std::size_t num_tracked() const { return tracked_.size(); }
  std::size_t num_lost() const { return lost_.size(); }

 private:
  enum class State : std::uint8_t { kTracked, kLost, kRemoved };
  using Slot = std::uint32_t;

  struct Track {
    KalmanState kalman;
    float det_xyxy[4] = {};
    float score = 0.f;
    std::int64_t det_index = -1;
    std::int64_t track_id = 0;  // 0 until confirmed
    std::int64_t frame_id = 0;  // last frame it was matched
    double seen_at = 0.0;       // clock_ then, in frames at frame_rate
    std::int64_t start_frame = 0;
    State state = State::kTracked;
    bool is_activated = false;
    int hits = 0;           // frames with a box while tentative, its first included
    int hits_needed = 2;    // ... to be confirmed: 2 (ByteTrack's), or confirm_frames for a weak start
  };

  void match(const std::vector<Slot>& tracks, const std::vector<std::size_t>& dets, bool fuse, double limit);
  bool moves_as_predicted(const Track& track, const float* xyxy) const;
  void absorb(Track& track, std::size_t det);
  void match_by_distance();
  void confirm(Track& track);
  Slot new_slot();
  void track_boxes(const std::vector<Slot>& tracks);
  void remove_duplicates();
  void write_output();

  ByteTrackConfig config_;
  double max_frames_lost_;
  KalmanFilter kalman_;
  LapSolver lap_;
  OverlapFinder overlaps_;
  std::int64_t frame_id_ = 0;
  std::int64_t next_id_ = 1;
  double clock_ = 0.0;  // time in frames at frame_rate: +1 per update, or the real gap when times are given
  double last_time_ = std::numeric_limits<double>::quiet_NaN();

  std::vector<Track> pool_;  // every track lives in a slot; the lists below hold slots
  std::vector<Slot> free_slots_;
  std::vector<Slot> tracked_;
  std::vector<Slot> lost_;

  // This frame's input, valid during update().
  const float* xyxy_ = nullptr;
  const float* scores_ = nullptr;

  // Scratch, reused every frame.
  std::vector<std::size_t> high_, low_, leftover_;
  std::vector<Slot> unconfirmed_, pool_slots_, remaining_, activated_, refound_, newly_lost_, removed_;
  std::vector<Slot> next_tracked_, next_lost_;
  std::vector<std::uint32_t> listed_epoch_;
  std::uint32_t epoch_ = 0;
  std::vector<double> boxes_a_, boxes_b_;
  std::vector<LapEntry> entries_;
  std::vector<std::int64_t> row_to_col_, col_to_row_;
  std::vector<std::uint8_t> drop_a_, drop_b_;
  std::vector<std::uint32_t> claims_;  // per box of a match(): the tracks that could take it
  std::vector<std::uint8_t> taken_;  // per leftover_ entry: matched by a track this frame
  std::vector<Slot> strays_;
  std::vector<std::size_t> free_;
  TrackList output_;
};

}  // namespace mctrt
