// Jonker-Volgenant linear assignment: initialisation by column reduction (square problems), then
// augmenting row reduction (an auction-like pass that settles most rows cheaply), then one
// Dijkstra shortest augmenting path per row still free.
//
// Invariant that makes it optimal: every matched row sits on a column of minimum reduced cost
// c[i][j] - v[j]. For a rectangular problem the column duals v start at 0 and only decrease, and a
// column never becomes free again once matched, so free columns keep v = 0 as optimality requires.
// The "unmatched" option of a cost-limited problem is a virtual sink column with cost L, v = 0 and
// unlimited capacity: it is always free, so a search that reaches it ends there.
#include "mctrt/lapjv.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mctrt {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

template <typename T>
void check_costs(const T* cost, std::size_t count, std::size_t n_cols, bool limited) {
  // Fast path: one branch-free pass (x - x is 0 for finite x, NaN for inf and NaN), which the
  // compiler vectorises; only a matrix that fails it is searched for the culprit.
  bool all_finite = true;
  for (std::size_t k = 0; k < count; ++k) all_finite &= (cost[k] - cost[k]) == T(0);
  if (all_finite) return;
  for (std::size_t k = 0; k < count; ++k) {
    const double c = double(cost[k]);
    if (std::isnan(c) || c == -kInf || (c == kInf && !limited)) {
      const std::string where = "cost[" + std::to_string(k / n_cols) + ", " + std::to_string(k % n_cols) + "]";
      if (std::isnan(c)) throw std::invalid_argument(where + " is NaN; every cost must be a number");
      if (c == -kInf) throw std::invalid_argument(where + " is -inf; costs must be finite");
      throw std::invalid_argument(where +
                                  " is +inf; to forbid a pair, pass a finite cost_limit (pairs at or above it "
                                  "stay unmatched) or use a large finite cost");
    }
  }
}

}  // namespace

template <typename T>
double LapSolver::solve(const T* cost, std::size_t n_rows, std::size_t n_cols, double cost_limit,
                        std::int64_t* row_to_col, std::int64_t* col_to_row) {
  if (std::isnan(cost_limit)) throw std::invalid_argument("cost_limit is NaN; pass a number or inf");
  const bool limited = cost_limit < kInf;
  check_costs(cost, n_rows * n_cols, n_cols, limited);
  if (std::max(n_rows, n_cols) >= std::size_t(std::numeric_limits<Index>::max()))
    throw std::invalid_argument("cost has more rows or columns than lapjv supports (2^31 - 1)");
  std::fill(row_to_col, row_to_col + n_rows, std::int64_t(kFree));
  std::fill(col_to_row, col_to_row + n_cols, std::int64_t(kFree));
  // -inf: every pair costs at least the limit, so nothing is matched.
  if (n_rows == 0 || n_cols == 0 || cost_limit == -kInf) return 0.0;

  // Solve with rows <= cols; a tall matrix is solved transposed.
  const bool transposed = n_rows > n_cols;
  const std::size_t n = transposed ? n_cols : n_rows;
  const std::size_t m = transposed ? n_rows : n_cols;
  const bool square_init = (n == m) && !limited;
  if (transposed) {
    transposed_.resize(n * m);
    for (std::size_t r = 0; r < n_rows; ++r)
      for (std::size_t c = 0; c < n_cols; ++c) transposed_[c * m + r] = double(cost[r * n_cols + c]);
    solve_wide(transposed_.data(), n, m, cost_limit, square_init);
  } else {
    solve_wide(cost, n, m, cost_limit, square_init);
  }

  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const Index j = x_[i];
    if (j < 0) continue;
    const std::size_t row = transposed ? std::size_t(j) : i;
    const std::size_t col = transposed ? i : std::size_t(j);
    const double c = double(cost[row * n_cols + col]);
    if (limited && c >= cost_limit) continue;  // a tie with "unmatched": leave it unmatched
    row_to_col[row] = std::int64_t(col);
    col_to_row[col] = std::int64_t(row);
    total += c;
  }
  return total;
}

template <typename T>
void LapSolver::solve_wide(const T* cost, std::size_t n, std::size_t m, double limit, bool square_init) {
  v_.assign(m, 0.0);
  x_.assign(n, kFree);
  y_.assign(m, kFree);
  dist_.resize(m);
  pred_.resize(m);
  cols_.resize(m);

  if (square_init) {
    column_reduction(cost, n);
  } else {
    free_rows_.resize(n);
    for (std::size_t i = 0; i < n; ++i) free_rows_[i] = Index(i);
  }
  // Two passes, as Jonker and Volgenant recommend: later passes rarely pay for themselves.
  for (int pass = 0; pass < 2 && !free_rows_.empty(); ++pass) augmenting_row_reduction(cost, m, limit);
  for (const Index f : free_rows_) augment(cost, m, limit, std::size_t(f));
}

template <typename T>
void LapSolver::column_reduction(const T* cost, std::size_t n) {
  // Each column's cheapest row, found walking the matrix row by row (column walks thrash the cache).
  // Branch-free selects, so the loop vectorises.
  double* const v = v_.data();
  Index* const y = y_.data();
  std::fill(v, v + n, kInf);
  for (std::size_t i = 0; i < n; ++i) {
    const T* row = cost + i * n;
    for (std::size_t j = 0; j < n; ++j) {
      const double c = double(row[j]);
      const bool lower = c < v[j];
      v[j] = lower ? c : v[j];
      y[j] = lower ? Index(i) : y[j];
    }
  }
  // A row keeps the last column (scanning down) it is cheapest for; its other columns stay free.
  times_matched_.assign(n, 0);
  for (std::size_t jj = n; jj-- > 0;) {
    const Index i = y_[jj];
    if (times_matched_[std::size_t(i)]++ == 0) {
      x_[std::size_t(i)] = Index(jj);
    } else {
      y_[jj] = kFree;
    }
  }
  // Reduction transfer: a row matched once lowers its column's dual by its margin over the next
  // best column, which keeps that column its minimum while making it less attractive to others.
  free_rows_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (times_matched_[i] == 0) {
      free_rows_.push_back(Index(i));
    } else if (times_matched_[i] == 1) {
      const std::size_t j1 = std::size_t(x_[i]);
      const T* row = cost + i * n;
      double margin = kInf;  // min over j != j1, as two plain min-reductions around j1
      for (std::size_t j = 0; j < j1; ++j) margin = std::min(margin, double(row[j]) - v[j]);
      for (std::size_t j = j1 + 1; j < n; ++j) margin = std::min(margin, double(row[j]) - v[j]);
      if (margin < kInf) v[j1] -= margin;
    }
  }
}

template <typename T>
void LapSolver::augmenting_row_reduction(const T* cost, std::size_t m, double limit) {
  const bool has_sink = std::isfinite(limit);
  const std::size_t to_process = free_rows_.size();
  // A displaced row waits for the next pass (or for augmentation) instead of bidding again at once,
  // as the original JV does: re-bidding at once lets two rows outbid each other by tiny amounts for
  // a long time, and measured slower on random and tracking-shaped problems alike.
  std::size_t k = 0;
  std::size_t still_free = 0;
  while (k < to_process) {
    const Index i = free_rows_[k++];
    const T* row = cost + std::size_t(i) * m;
    // Best and second-best reduced cost of this row (the sink counts as a column with v = 0).
    double u1 = double(row[0]) - v_[0];
    double u2 = kInf;
    Index j1 = 0;
    Index j2 = kFree;
    for (std::size_t j = 1; j < m; ++j) {
      const double h = double(row[j]) - v_[j];
      if (h < u2) {
        if (h >= u1) {
          u2 = h;
          j2 = Index(j);
        } else {
          u2 = u1;
          j2 = j1;
          u1 = h;
          j1 = Index(j);
        }
      }
    }
    if (has_sink && limit < u2) {
      if (limit >= u1) {
        u2 = limit;
        j2 = kSink;
      } else {
        u2 = u1;
        j2 = j1;
        u1 = limit;
        j1 = kSink;
      }
    }

    Index owner = j1 >= 0 ? y_[std::size_t(j1)] : kFree;
    if (u1 < u2) {
      // Take j1 and raise its price until it is only as good as the runner-up.
      if (j1 >= 0 && u2 < kInf) v_[std::size_t(j1)] -= u2 - u1;
    } else if (owner >= 0) {
      // A tie with a taken column: take the runner-up instead and avoid a bidding war.
      j1 = j2;
      owner = j1 >= 0 ? y_[std::size_t(j1)] : kFree;
    }
    x_[std::size_t(i)] = j1;
    if (j1 >= 0) y_[std::size_t(j1)] = i;
    if (owner >= 0) {
      x_[std::size_t(owner)] = kFree;
      free_rows_[still_free++] = owner;
    }
  }
  free_rows_.resize(still_free);
}

template <typename T>
void LapSolver::augment(const T* cost, std::size_t m, double limit, std::size_t free_row) {
  const bool has_sink = std::isfinite(limit);
  double* const dist = dist_.data();
  double* const v = v_.data();
  Index* const cols = cols_.data();
  Index* const pred = pred_.data();
  const Index* const y = y_.data();
  const T* frow = cost + free_row * m;
  for (std::size_t j = 0; j < m; ++j) {
    cols[j] = Index(j);
    dist[j] = double(frow[j]) - v[j];
    pred[j] = Index(free_row);
  }
  double sink_dist = has_sink ? limit : kInf;
  Index sink_pred = Index(free_row);

  // cols[0, low) scanned, [low, up) at the current minimum distance, [up, m) not yet settled.
  std::size_t low = 0;
  std::size_t up = 0;
  double min_dist = 0.0;
  Index end = kFree;
  while (end == kFree) {
    if (low == up) {
      // Settle the next distance level: gather every column at the new minimum.
      min_dist = kInf;
      for (std::size_t k = up; k < m; ++k) {
        const Index j = cols[k];
        const double h = dist[j];
        if (h <= min_dist && h < kInf) {
          if (h < min_dist) {
            up = low;
            min_dist = h;
          }
          cols[k] = cols[up];
          cols[up++] = j;
        }
      }
      if (sink_dist < min_dist) {  // the sink is nearer than any column left: the path ends there
        min_dist = sink_dist;
        end = kSink;
        break;
      }
      for (std::size_t k = low; k < up; ++k) {
        if (y[cols[k]] == kFree) {
          end = cols[k];
          break;
        }
      }
      if (end != kFree) break;
      if (sink_dist == min_dist) {
        end = kSink;
        break;
      }
      // Unreachable with finite costs, or with a finite limit (the sink is always reachable).
      if (low == up) throw std::logic_error("lapjv: no augmenting path; the problem is infeasible");
    }
    // Scan one settled column: relax distances through the row that holds it.
    const Index j1 = cols[low++];
    const Index i = y[j1];
    const T* row = cost + std::size_t(i) * m;
    const double u1 = double(row[j1]) - v[j1] - min_dist;
    for (std::size_t k = up; k < m; ++k) {
      const Index j = cols[k];
      const double h = double(row[j]) - v[j] - u1;
      if (h < dist[j]) {
        dist[j] = h;
        pred[j] = i;
        if (h == min_dist) {
          if (y[j] == kFree) {
            end = j;
            break;
          }
          cols[k] = cols[up];
          cols[up++] = j;
        }
      }
    }
    if (end == kFree && has_sink) {
      const double h = limit - u1;
      if (h < sink_dist) {
        sink_dist = h;
        sink_pred = i;
        if (h == min_dist) end = kSink;
      }
    }
  }

  // Scanned columns were reached below the final distance: lower their duals by the difference.
  for (std::size_t k = 0; k < low; ++k) {
    const Index j = cols[k];
    v[j] += dist[j] - min_dist;
  }
  // Flip the path back to the free row.
  Index j;
  Index i;
  if (end == kSink) {
    i = sink_pred;
    j = x_[std::size_t(i)];
    x_[std::size_t(i)] = kSink;
  } else {
    j = end;
    i = kFree;
  }
  while (i != Index(free_row)) {
    i = pred[j];
    y_[std::size_t(j)] = i;
    std::swap(x_[std::size_t(i)], j);
  }
}

namespace {

// Union-find root with path halving.
std::int32_t find_root(std::vector<std::int32_t>& parent, std::int32_t x) {
  while (parent[std::size_t(x)] != x) {
    parent[std::size_t(x)] = parent[std::size_t(parent[std::size_t(x)])];
    x = parent[std::size_t(x)];
  }
  return x;
}

}  // namespace

double LapSolver::solve_sparse(std::size_t n_rows, std::size_t n_cols, const std::vector<LapEntry>& entries,
                               double cost_limit, std::int64_t* row_to_col, std::int64_t* col_to_row) {
  if (!std::isfinite(cost_limit)) throw std::invalid_argument("solve_sparse needs a finite cost_limit");
  if (n_rows + n_cols >= std::size_t(std::numeric_limits<Index>::max()))
    throw std::invalid_argument("solve_sparse: too many rows and columns (2^31 - 1)");
  std::fill(row_to_col, row_to_col + n_rows, std::int64_t(kFree));
  std::fill(col_to_row, col_to_row + n_cols, std::int64_t(kFree));
  for (const LapEntry& e : entries) {
    if (e.row >= n_rows || e.col >= n_cols)
      throw std::invalid_argument("solve_sparse: entry (" + std::to_string(e.row) + ", " + std::to_string(e.col) +
                                  ") is outside the " + std::to_string(n_rows) + " x " + std::to_string(n_cols) +
                                  " problem");
    if (std::isnan(e.cost)) throw std::invalid_argument("solve_sparse: an entry's cost is NaN");
  }

  // Nodes: rows 0..n_rows-1, then columns. Edges: entries below the limit.
  const std::size_t nodes = n_rows + n_cols;
  parent_.resize(nodes);
  for (std::size_t k = 0; k < nodes; ++k) parent_[k] = Index(k);
  for (const LapEntry& e : entries) {
    if (!(e.cost < cost_limit)) continue;
    const Index a = find_root(parent_, Index(e.row)), b = find_root(parent_, Index(n_rows + e.col));
    if (a != b) parent_[std::size_t(std::max(a, b))] = std::min(a, b);
  }
  // Number the components; node_component_ is -1 for nodes in no edge.
  root_component_.assign(nodes, kFree);
  node_component_.assign(nodes, kFree);
  Index count = 0;
  for (const LapEntry& e : entries) {
    if (!(e.cost < cost_limit)) continue;
    for (const std::size_t node : {std::size_t(e.row), n_rows + e.col}) {
      if (node_component_[node] != kFree) continue;
      Index& c = root_component_[std::size_t(find_root(parent_, Index(node)))];
      if (c == kFree) c = count++;
      node_component_[node] = c;
    }
  }
  if (count == 0) return 0.0;

  // Each node's index inside its component's matrix (ascending, as in the full matrix), and the
  // nodes of every component listed rows first: counting sorts.
  component_rows_.assign(std::size_t(count), 0);
  component_cols_.assign(std::size_t(count), 0);
  local_.assign(nodes, kFree);
  for (std::size_t node = 0; node < nodes; ++node) {
    const Index c = node_component_[node];
    if (c == kFree) continue;
    local_[node] = node < n_rows ? component_rows_[std::size_t(c)]++ : component_cols_[std::size_t(c)]++;
  }
  start_.assign(std::size_t(count) + 1, 0);
  for (std::size_t c = 0; c < std::size_t(count); ++c)
    start_[c + 1] = start_[c] + component_rows_[c] + component_cols_[c];
  members_.resize(std::size_t(start_.back()));
  for (std::size_t node = 0; node < nodes; ++node) {
    const Index c = node_component_[node];
    if (c == kFree) continue;
    const Index offset = node < n_rows ? 0 : component_rows_[std::size_t(c)];
    members_[std::size_t(start_[std::size_t(c)] + offset + local_[node])] = Index(node);
  }
  entry_start_.assign(std::size_t(count) + 1, 0);
  for (const LapEntry& e : entries)
    if (e.cost < cost_limit) ++entry_start_[std::size_t(node_component_[e.row]) + 1];
  for (std::size_t c = 0; c < std::size_t(count); ++c) entry_start_[c + 1] += entry_start_[c];
  entry_order_.resize(std::size_t(entry_start_.back()));
  fill_.assign(entry_start_.begin(), entry_start_.end() - 1);
  for (std::size_t k = 0; k < entries.size(); ++k)
    if (entries[k].cost < cost_limit) entry_order_[std::size_t(fill_[std::size_t(node_component_[entries[k].row])]++)] = Index(k);

  // Solve each component on its own dense matrix; pairs it does not list cost +inf (never matched).
  double total = 0.0;
  for (std::size_t c = 0; c < std::size_t(count); ++c) {
    const std::size_t rows = std::size_t(component_rows_[c]), cols = std::size_t(component_cols_[c]);
    const Index* row_ids = members_.data() + start_[c];
    const Index* col_ids = row_ids + rows;
    if (rows == 1 || cols == 1) {
      // A star (one row or one column): the cheapest of its entries is the optimum.
      const LapEntry* best = nullptr;
      for (Index k = entry_start_[c]; k < entry_start_[c + 1]; ++k) {
        const LapEntry& e = entries[std::size_t(entry_order_[std::size_t(k)])];
        if (best == nullptr || e.cost < best->cost) best = &e;
      }
      row_to_col[best->row] = best->col;
      col_to_row[best->col] = best->row;
      total += best->cost;
      continue;
    }
    sub_cost_.assign(rows * cols, kInf);
    for (Index k = entry_start_[c]; k < entry_start_[c + 1]; ++k) {
      const LapEntry& e = entries[std::size_t(entry_order_[std::size_t(k)])];
      double& slot = sub_cost_[std::size_t(local_[e.row]) * cols + std::size_t(local_[n_rows + e.col])];
      slot = std::min(slot, e.cost);
    }
    sub_row_to_col_.resize(rows);
    sub_col_to_row_.resize(cols);
    total += solve(sub_cost_.data(), rows, cols, cost_limit, sub_row_to_col_.data(), sub_col_to_row_.data());
    for (std::size_t r = 0; r < rows; ++r) {
      if (sub_row_to_col_[r] < 0) continue;
      const std::int64_t col = std::int64_t(col_ids[sub_row_to_col_[r]]) - std::int64_t(n_rows);
      row_to_col[row_ids[r]] = col;
      col_to_row[col] = row_ids[r];
    }
  }
  return total;
}

template <typename T>
double lapjv(const T* cost, std::size_t n_rows, std::size_t n_cols, double cost_limit, std::int64_t* row_to_col,
             std::int64_t* col_to_row) {
  LapSolver solver;
  return solver.solve(cost, n_rows, n_cols, cost_limit, row_to_col, col_to_row);
}

template double LapSolver::solve<float>(const float*, std::size_t, std::size_t, double, std::int64_t*, std::int64_t*);
template double LapSolver::solve<double>(const double*, std::size_t, std::size_t, double, std::int64_t*,
                                         std::int64_t*);
template double lapjv<float>(const float*, std::size_t, std::size_t, double, std::int64_t*, std::int64_t*);
template double lapjv<double>(const double*, std::size_t, std::size_t, double, std::int64_t*, std::int64_t*);

}  // namespace mctrt
