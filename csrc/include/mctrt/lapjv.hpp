// Linear assignment on dense rectangular cost matrices (Jonker & Volgenant, 1987).
//
// Minimises the total cost of a matching between rows and columns. Without a cost limit the
// matching has min(rows, cols) pairs and its total equals scipy's linear_sum_assignment. With a
// finite cost limit L, any row or column may stay unmatched at a price of L / 2, so a pair is
// matched only when that is cheaper than leaving both ends unmatched (what lap.lapjv solves with
// extend_cost=True, cost_limit=L); pairs costing L or more are never matched.
//
// The solver works on rows <= cols (a taller matrix is transposed first). The unmatched option is
// one virtual column of cost L with unlimited capacity, which keeps a limited n x m problem at
// n x (m + 1) instead of the (n + m) x (n + m) matrix that lap builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace mctrt {

// One candidate pair of a sparse assignment problem.
struct LapEntry {
  std::uint32_t row;
  std::uint32_t col;
  double cost;
};

class LapSolver {
 public:
  // cost: (n_rows, n_cols) row-major, finite except that +inf is allowed with a finite limit.
  // Writes row_to_col (n_rows) and col_to_row (n_cols), -1 for unmatched. Returns the total cost of
  // the matched pairs. Throws std::invalid_argument on NaN, -inf, or +inf without a limit.
  template <typename T>
  double solve(const T* cost, std::size_t n_rows, std::size_t n_cols, double cost_limit, std::int64_t* row_to_col,
               std::int64_t* col_to_row);

  // The same problem when only `entries` can ever be matched: every pair not listed costs at least
  // cost_limit (which must be finite). Pairs linked by entries below the limit form connected
  // components that do not interact, so each is solved on its own small dense matrix; a crowd
  // becomes many tiny problems instead of one big one. Duplicate (row, col) entries keep the cheaper.
  double solve_sparse(std::size_t n_rows, std::size_t n_cols, const std::vector<LapEntry>& entries, double cost_limit,
                      std::int64_t* row_to_col, std::int64_t* col_to_row);

 private:
  template <typename T>
  void solve_wide(const T* cost, std::size_t n, std::size_t m, double limit, bool square_init);
  template <typename T>
  void column_reduction(const T* cost, std::size_t n);
  template <typename T>
  void augmenting_row_reduction(const T* cost, std::size_t m, double limit);
  template <typename T>
  void augment(const T* cost, std::size_t m, double limit, std::size_t free_row);

  // 32-bit indices: half the memory traffic of 64-bit ones in the scan loops.
  using Index = std::int32_t;
  static constexpr Index kFree = -1;
  static constexpr Index kSink = -2;  // the virtual "unmatched" column

  // Scratch reused across calls, so a tracker solving every frame does not allocate.
  std::vector<double> transposed_;
  std::vector<double> v_;        // column duals
  std::vector<double> dist_;     // shortest-path distances to columns
  std::vector<Index> x_;         // row -> column (kSink for unmatched, kFree while free)
  std::vector<Index> y_;         // column -> row
  std::vector<Index> pred_;      // row that reached each column
  std::vector<Index> cols_;      // columns ordered: scanned | to scan | not reached
  std::vector<Index> free_rows_;
  std::vector<int> times_matched_;

  // solve_sparse's scratch. Nodes are rows then columns; a component is a set of linked nodes.
  std::vector<Index> parent_;          // union-find
  std::vector<Index> root_component_;  // root node -> component number
  std::vector<Index> node_component_;  // node -> component number, kFree if in no entry
  std::vector<Index> component_rows_, component_cols_;
  std::vector<Index> local_;           // node -> index in its component's matrix
  std::vector<Index> start_;           // component -> offset of its nodes in members_
  std::vector<Index> members_;         // nodes by component, rows first, ascending
  std::vector<Index> entry_start_, entry_order_, fill_;  // entries grouped by component
  std::vector<double> sub_cost_;
  std::vector<std::int64_t> sub_row_to_col_, sub_col_to_row_;
};

// One-off convenience wrapper around LapSolver::solve.
template <typename T>
double lapjv(const T* cost, std::size_t n_rows, std::size_t n_cols, double cost_limit, std::int64_t* row_to_col,
             std::int64_t* col_to_row);

}  // namespace mctrt
