//! Box geometry, cost matrices and thresholded linear assignment.
//!
//! Costs follow ByteTrack: the IoU distance is `1 − IoU` and the fused
//! distance is `1 − IoU·score` ([`fuse_score`]). A pair is only eligible for
//! matching when its cost is finite and `<= thresh`; the solvers then pick
//! the eligible pairs with the minimum total cost (optimal, via the
//! Jonker–Volgenant solver of the `lapjv` crate) or greedily by increasing
//! cost ([`greedy_assignment`]).
//!
//! Large problems are split into independent connected components of the
//! graph of eligible pairs before solving (a row and a column that can never
//! be matched to each other directly or indirectly do not interact), so a
//! frame with a thousand well-separated objects costs a thousand 1x1
//! problems rather than one dense 2000x2000 one.

/// Axis-aligned box `[x1, y1, x2, y2]` in pixels.
pub type Bbox = [f32; 4];

/// True for a box with finite coordinates and strictly positive width and
/// height.
pub fn is_valid_box(b: &Bbox) -> bool {
    b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1]
}

/// Area of a box (0 for degenerate or inverted boxes).
pub fn box_area(b: &Bbox) -> f32 {
    let w = b[2] - b[0];
    let h = b[3] - b[1];
    if w > 0.0 && h > 0.0 { w * h } else { 0.0 }
}

/// Intersection over union in `[0, 1]`; 0 when either box is degenerate or
/// non-finite.
pub fn iou(a: &Bbox, b: &Bbox) -> f32 {
    if !(is_valid_box(a) && is_valid_box(b)) {
        return 0.0;
    }
    let iw = a[2].min(b[2]) - a[0].max(b[0]);
    let ih = a[3].min(b[3]) - a[1].max(b[1]);
    // Written so that NaN fails the comparison and yields 0.
    if !(iw > 0.0 && ih > 0.0) {
        return 0.0;
    }
    let inter = iw * ih;
    let union = box_area(a) + box_area(b) - inter;
    if union.is_nan() || union <= 0.0 {
        return 0.0;
    }
    let v = inter / union;
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Dense row-major matrix of costs or similarities.
#[derive(Debug, Clone, PartialEq)]
pub struct CostMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl CostMatrix {
    /// A `rows x cols` matrix filled with `value`.
    pub fn new(rows: usize, cols: usize, value: f32) -> Self {
        Self {
            rows,
            cols,
            data: vec![value; rows.saturating_mul(cols)],
        }
    }

    /// Build from row slices. Returns `None` when the rows differ in length.
    pub fn from_rows(rows: &[&[f32]]) -> Option<Self> {
        let cols = rows.first().map_or(0, |r| r.len());
        if rows.iter().any(|r| r.len() != cols) {
            return None;
        }
        Some(Self {
            rows: rows.len(),
            cols,
            data: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Entry `(r, c)`; `None` when out of range.
    pub fn get(&self, r: usize, c: usize) -> Option<f32> {
        if r < self.rows && c < self.cols {
            self.data.get(r * self.cols + c).copied()
        } else {
            None
        }
    }

    /// Set entry `(r, c)`; out-of-range writes are ignored.
    pub fn set(&mut self, r: usize, c: usize, v: f32) {
        if r < self.rows
            && c < self.cols
            && let Some(x) = self.data.get_mut(r * self.cols + c)
        {
            *x = v;
        }
    }

    fn edges(&self, thresh: f32) -> Vec<Edge> {
        let mut out = Vec::new();
        for r in 0..self.rows {
            for c in 0..self.cols {
                let cost = self.data[r * self.cols + c];
                if cost.is_finite() && cost <= thresh {
                    out.push(Edge {
                        row: r,
                        col: c,
                        cost,
                    });
                }
            }
        }
        out
    }
}

/// IoU distance `1 − IoU` between every row box and column box.
pub fn iou_distance(rows: &[Bbox], cols: &[Bbox]) -> CostMatrix {
    let mut m = CostMatrix::new(rows.len(), cols.len(), 1.0);
    for (r, a) in rows.iter().enumerate() {
        for (c, b) in cols.iter().enumerate() {
            m.set(r, c, 1.0 - iou(a, b));
        }
    }
    m
}

/// ByteTrack's `fuse_score`: turn an IoU distance into `1 − IoU·score`,
/// where `score[c]` is the detection score of column `c`. Columns without
/// a score (slice too short) or with a non-finite score become infinite
/// (never matched).
pub fn fuse_score(cost: &mut CostMatrix, scores: &[f32]) {
    for r in 0..cost.rows {
        for c in 0..cost.cols {
            let d = cost.data[r * cost.cols + c];
            let s = scores.get(c).copied().unwrap_or(f32::NAN);
            cost.data[r * cost.cols + c] = fused_cost(1.0 - d, s);
        }
    }
}

/// `1 − iou·score`, or infinity when either is non-finite.
pub fn fused_cost(iou: f32, score: f32) -> f32 {
    let v = 1.0 - iou * score;
    if v.is_finite() { v } else { f32::INFINITY }
}

/// One eligible (row, column) pair of a sparse assignment problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// Row index.
    pub row: usize,
    /// Column index.
    pub col: usize,
    /// Cost of matching them.
    pub cost: f32,
}

/// Result of an assignment: matched `(row, col)` pairs sorted by row, and
/// the unmatched rows and columns in increasing order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Matched `(row, col)` pairs, sorted by row.
    pub matches: Vec<(usize, usize)>,
    /// Rows left unmatched, ascending.
    pub unmatched_rows: Vec<usize>,
    /// Columns left unmatched, ascending.
    pub unmatched_cols: Vec<usize>,
}

impl Assignment {
    fn from_matches(rows: usize, cols: usize, mut matches: Vec<(usize, usize)>) -> Self {
        matches.sort_unstable();
        let mut row_used = vec![false; rows];
        let mut col_used = vec![false; cols];
        for &(r, c) in &matches {
            row_used[r] = true;
            col_used[c] = true;
        }
        Self {
            matches,
            unmatched_rows: (0..rows).filter(|&r| !row_used[r]).collect(),
            unmatched_cols: (0..cols).filter(|&c| !col_used[c]).collect(),
        }
    }
}

/// Optimal thresholded assignment on a dense matrix: minimises the total cost
/// over pairs with finite cost `<= thresh`; every other row and column is
/// reported unmatched. A NaN `thresh` matches nothing.
pub fn linear_assignment(cost: &CostMatrix, thresh: f32) -> Assignment {
    linear_assignment_sparse(cost.rows, cost.cols, &cost.edges(thresh), thresh)
}

/// Greedy thresholded assignment on a dense matrix: repeatedly takes the
/// cheapest remaining eligible pair (ties broken by lower row, then column).
pub fn greedy_assignment(cost: &CostMatrix, thresh: f32) -> Assignment {
    greedy_assignment_sparse(cost.rows, cost.cols, &cost.edges(thresh), thresh)
}

/// Edges that can take part in a thresholded assignment: indices in range,
/// finite cost `<= thresh`; duplicates keep the cheapest.
fn eligible_edges(rows: usize, cols: usize, edges: &[Edge], thresh: f32) -> Vec<Edge> {
    let mut e: Vec<Edge> = edges
        .iter()
        .copied()
        .filter(|e| e.row < rows && e.col < cols && e.cost.is_finite() && e.cost <= thresh)
        .collect();
    e.sort_unstable_by(|a, b| {
        (a.row, a.col)
            .cmp(&(b.row, b.col))
            .then(a.cost.total_cmp(&b.cost))
    });
    e.dedup_by(|later, first| later.row == first.row && later.col == first.col);
    e
}

/// Greedy thresholded assignment over a sparse edge list (see
/// [`greedy_assignment`]). Edges out of range or not eligible are ignored.
pub fn greedy_assignment_sparse(
    rows: usize,
    cols: usize,
    edges: &[Edge],
    thresh: f32,
) -> Assignment {
    let mut e = eligible_edges(rows, cols, edges, thresh);
    e.sort_by(|a, b| {
        a.cost
            .total_cmp(&b.cost)
            .then((a.row, a.col).cmp(&(b.row, b.col)))
    });
    let mut row_used = vec![false; rows];
    let mut col_used = vec![false; cols];
    let mut matches = Vec::new();
    for edge in e {
        if !row_used[edge.row] && !col_used[edge.col] {
            row_used[edge.row] = true;
            col_used[edge.col] = true;
            matches.push((edge.row, edge.col));
        }
    }
    Assignment::from_matches(rows, cols, matches)
}

/// Minimal union-find over `n` nodes (path halving, union by size).
struct DisjointSets {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

/// Optimal thresholded assignment over a sparse edge list (see
/// [`linear_assignment`]); pairs without an edge are never matched.
///
/// Each connected component of the eligible-edge graph is solved on its own:
/// one edge or a single row/column directly, larger ones with the JV solver
/// on a padded square matrix (see `solve_component`).
pub fn linear_assignment_sparse(
    rows: usize,
    cols: usize,
    edges: &[Edge],
    thresh: f32,
) -> Assignment {
    let e = eligible_edges(rows, cols, edges, thresh);
    if e.is_empty() {
        return Assignment::from_matches(rows, cols, Vec::new());
    }
    // Nodes 0..rows are rows, rows..rows+cols are columns.
    let mut sets = DisjointSets::new(rows + cols);
    for edge in &e {
        sets.union(edge.row, rows + edge.col);
    }
    // Group edges by component root.
    let mut comp_of_root = vec![usize::MAX; rows + cols];
    let mut comps: Vec<Vec<Edge>> = Vec::new();
    for edge in &e {
        let root = sets.find(edge.row);
        if comp_of_root[root] == usize::MAX {
            comp_of_root[root] = comps.len();
            comps.push(Vec::new());
        }
        comps[comp_of_root[root]].push(*edge);
    }
    let mut matches = Vec::new();
    // Scratch maps from global to component-local indices.
    let mut local_row = vec![usize::MAX; rows];
    let mut local_col = vec![usize::MAX; cols];
    for comp in &comps {
        solve_component(comp, thresh, &mut local_row, &mut local_col, &mut matches);
    }
    Assignment::from_matches(rows, cols, matches)
}

/// Largest padded dimension (`rows + cols` of one connected component)
/// solved optimally; larger components are solved greedily.
pub const MAX_OPTIMAL_DIM: usize = 400;

/// Solve one connected component and append its matches.
fn solve_component(
    comp: &[Edge],
    thresh: f32,
    local_row: &mut [usize],
    local_col: &mut [usize],
    matches: &mut Vec<(usize, usize)>,
) {
    if let [only] = comp {
        matches.push((only.row, only.col));
        return;
    }
    let mut row_ids = Vec::new();
    let mut col_ids = Vec::new();
    for edge in comp {
        if local_row[edge.row] == usize::MAX {
            local_row[edge.row] = row_ids.len();
            row_ids.push(edge.row);
        }
        if local_col[edge.col] == usize::MAX {
            local_col[edge.col] = col_ids.len();
            col_ids.push(edge.col);
        }
    }
    if row_ids.len() + col_ids.len() > MAX_OPTIMAL_DIM {
        // Pathological pile-up (hundreds of mutually overlapping boxes): a
        // dense JV problem of this size would cost O(n³) time and O(n²)
        // memory, so settle for greedy here.
        let g = greedy_assignment_sparse(local_row.len(), local_col.len(), comp, thresh);
        matches.extend(g.matches);
    } else if row_ids.len() == 1 || col_ids.len() == 1 {
        // A star: only one pair can be matched; take the cheapest (first on
        // ties, edges are sorted by (row, col)).
        let mut best = comp[0];
        for edge in &comp[1..] {
            if edge.cost < best.cost {
                best = *edge;
            }
        }
        matches.push((best.row, best.col));
    } else {
        let solved = solve_padded(comp, thresh, &row_ids, &col_ids, local_row, local_col);
        match solved {
            Some(m) => matches.extend(m),
            None => {
                // The JV solver reported an error (should not happen on the
                // finite matrices built here); fall back to greedy so the
                // tracker keeps working.
                let g = greedy_assignment_sparse(local_row.len(), local_col.len(), comp, thresh);
                matches.extend(g.matches);
            }
        }
    }
    for r in row_ids {
        local_row[r] = usize::MAX;
    }
    for c in col_ids {
        local_col[c] = usize::MAX;
    }
}

/// Solve a component with `r` rows and `c` columns as an `(r + c)` square
/// problem (the same idea as `lap.lapjv(extend_cost=True, cost_limit=…)`
/// used by ByteTrack, written here for the sparse setting):
///
/// ```text
///            real cols (c)      dummy cols (r)
/// real rows  cost or BIG        pad
/// dummy rows pad                0
/// ```
///
/// Leaving a row and a column unmatched costs `2·pad`, so an edge is worth
/// matching iff its cost is below `2·pad`; `pad` is set just above
/// `thresh / 2` so every eligible edge (`cost <= thresh`) qualifies, and
/// `BIG > 2·pad` is never part of an optimum (swapping such a pair for two
/// dummy pairs is always cheaper).
fn solve_padded(
    comp: &[Edge],
    thresh: f32,
    row_ids: &[usize],
    col_ids: &[usize],
    local_row: &[usize],
    local_col: &[usize],
) -> Option<Vec<(usize, usize)>> {
    let r = row_ids.len();
    let c = col_ids.len();
    let n = r + c;
    let min_cost = comp
        .iter()
        .map(|e| f64::from(e.cost))
        .fold(f64::INFINITY, f64::min);
    let max_cost = comp
        .iter()
        .map(|e| f64::from(e.cost))
        .fold(f64::NEG_INFINITY, f64::max);
    if !(min_cost.is_finite() && max_cost.is_finite()) {
        return None;
    }
    // An infinite threshold means "match as many as possible, then cheapest":
    // any finite limit above every achievable saving does that.
    let thresh = if thresh.is_finite() {
        f64::from(thresh)
    } else {
        max_cost + (max_cost - min_cost + 1.0) * n as f64
    };
    // Shift so all eligible costs lie in [0, thresh - min]. Subtracting a
    // constant from the real block and the limit leaves the objective
    // sum(cost - thresh) over matches unchanged and keeps magnitudes small.
    let shift = min_cost;
    let limit = thresh - shift;
    let pad = limit / 2.0 + 1e-6 * (1.0 + limit.abs());
    let big = 2.0 * pad + 1.0 + limit.abs();
    let mut m = lapjv::Matrix::<f64>::from_elem((n, n), 0.0);
    for i in 0..r {
        for j in 0..c {
            m[(i, j)] = big;
        }
        for j in c..n {
            m[(i, j)] = pad;
        }
    }
    for i in r..n {
        for j in 0..c {
            m[(i, j)] = pad;
        }
    }
    for e in comp {
        let (i, j) = (local_row[e.row], local_col[e.col]);
        let v = f64::from(e.cost) - shift;
        if v < m[(i, j)] {
            m[(i, j)] = v;
        }
    }
    let (row_to_col, _) = lapjv::lapjv(&m).ok()?;
    if row_to_col.len() != n {
        return None;
    }
    let mut out = Vec::new();
    let mut col_seen = vec![false; n];
    for (i, &j) in row_to_col.iter().enumerate() {
        if j >= n || col_seen[j] {
            return None;
        }
        col_seen[j] = true;
        if i < r && j < c && m[(i, j)] < big {
            out.push((row_ids[i], col_ids[j]));
        }
    }
    Some(out)
}

/// Pairs `(row, col, iou)` of boxes that overlap (IoU > 0), without testing
/// all `rows x cols` pairs: column boxes are bucketed into horizontal bands
/// (by `y1`, band height = tallest column box) and sorted by `x1` inside a
/// band, so a row box only visits the few bands and the x-window that can
/// overlap it. Invalid boxes never overlap anything. At most `max_per_row`
/// pairs are kept per row, those with the highest IoU (pass `usize::MAX`
/// for all); this bounds memory when thousands of boxes pile up on one
/// spot. Output is sorted by (row, col).
pub fn overlapping_pairs(
    rows: &[Bbox],
    cols: &[Bbox],
    max_per_row: usize,
) -> Vec<(usize, usize, f32)> {
    let valid = cols.iter().filter(|b| is_valid_box(b));
    let (max_w, max_h) = valid.fold((0.0f32, 0.0f32), |(w, h), b| {
        (w.max(b[2] - b[0]), h.max(b[3] - b[1]))
    });
    // `as i64` saturates, so absurd coordinates only merge bands.
    let band_of = |y: f32| (y / max_h).floor() as i64;
    // Valid column boxes sorted by (band, x1), stored contiguously.
    let mut sorted: Vec<(i64, Bbox, usize)> = cols
        .iter()
        .enumerate()
        .filter(|(_, b)| is_valid_box(b))
        .map(|(c, b)| (band_of(b[1]), *b, c))
        .collect();
    sorted.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.1[0].total_cmp(&y.1[0])));
    // (band, first index) of every non-empty band.
    let mut bands: Vec<(i64, usize)> = Vec::new();
    for (i, (band, _, _)) in sorted.iter().enumerate() {
        if bands.last().is_none_or(|l| l.0 != *band) {
            bands.push((*band, i));
        }
    }
    let mut out = Vec::new();
    for (r, a) in rows.iter().enumerate() {
        if !is_valid_box(a) {
            continue;
        }
        let start = out.len();
        // A column box b overlaps a only if b.y1 in (a.y1 - max_h, a.y2) and
        // b.x1 in (a.x1 - max_w, a.x2).
        let first_band = band_of(a[1] - max_h);
        let last_band = band_of(a[3]);
        let mut k = bands.partition_point(|(band, _)| *band < first_band);
        while let Some(&(band, begin)) = bands.get(k) {
            if band > last_band {
                break;
            }
            let end = bands.get(k + 1).map_or(sorted.len(), |n| n.1);
            let slice = sorted.get(begin..end).unwrap_or(&[]);
            let lo = slice.partition_point(|(_, b, _)| b[0] <= a[0] - max_w);
            let hi = slice.partition_point(|(_, b, _)| b[0] < a[2]);
            for (_, b, c) in slice.get(lo..hi).unwrap_or(&[]) {
                // Cheap rejection before the full IoU.
                if b[2] <= a[0] || b[1] >= a[3] || b[3] <= a[1] {
                    continue;
                }
                let v = iou(a, b);
                if v > 0.0 {
                    out.push((r, *c, v));
                }
            }
            k += 1;
        }
        if out.len() - start > max_per_row {
            out[start..].select_nth_unstable_by(max_per_row, |x, y| {
                y.2.total_cmp(&x.2).then(x.1.cmp(&y.1))
            });
            out.truncate(start + max_per_row);
        }
        out[start..].sort_unstable_by_key(|p| p.1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact optimum of the thresholded objective `sum(cost - thresh)` over
    /// matches (what ByteTrack's `lapjv(extend_cost=True,
    /// cost_limit=thresh)` minimises), by dynamic programming over the set
    /// of used columns (independent of the solver under test).
    fn brute_force(cost: &CostMatrix, thresh: f32) -> f64 {
        let cols = cost.cols();
        let full = 1usize << cols;
        let mut best = vec![f64::INFINITY; full];
        best[0] = 0.0;
        for r in 0..cost.rows() {
            let mut next = best.clone(); // row r unmatched
            for (mask, &here) in best.iter().enumerate() {
                if !here.is_finite() {
                    continue;
                }
                for c in 0..cols {
                    let v = cost.get(r, c).unwrap();
                    if mask & (1 << c) == 0 && v.is_finite() && v <= thresh {
                        let t = here + f64::from(v) - f64::from(thresh);
                        let m2 = mask | (1 << c);
                        if t < next[m2] {
                            next[m2] = t;
                        }
                    }
                }
            }
            best = next;
        }
        best.into_iter().fold(f64::INFINITY, f64::min)
    }

    fn objective(cost: &CostMatrix, thresh: f32, a: &Assignment) -> f64 {
        a.matches
            .iter()
            .map(|&(r, c)| f64::from(cost.get(r, c).unwrap()) - f64::from(thresh))
            .sum()
    }

    fn check_valid(cost: &CostMatrix, thresh: f32, a: &Assignment) {
        let mut rows: Vec<usize> = a.matches.iter().map(|m| m.0).collect();
        let mut cols: Vec<usize> = a.matches.iter().map(|m| m.1).collect();
        for &(r, c) in &a.matches {
            assert!(cost.get(r, c).unwrap() <= thresh);
        }
        rows.extend(&a.unmatched_rows);
        cols.extend(&a.unmatched_cols);
        rows.sort_unstable();
        cols.sort_unstable();
        assert_eq!(rows, (0..cost.rows()).collect::<Vec<_>>());
        assert_eq!(cols, (0..cost.cols()).collect::<Vec<_>>());
    }

    #[test]
    fn iou_basics() {
        let a = [0.0, 0.0, 10.0, 10.0];
        assert_eq!(iou(&a, &a), 1.0);
        assert!((iou(&a, &[5.0, 0.0, 15.0, 10.0]) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(iou(&a, &[10.0, 0.0, 20.0, 10.0]), 0.0);
        assert_eq!(iou(&a, &[f32::NAN, 0.0, 5.0, 5.0]), 0.0);
        assert_eq!(iou(&a, &[5.0, 5.0, 5.0, 5.0]), 0.0);
        assert_eq!(iou(&a, &[8.0, 8.0, 2.0, 2.0]), 0.0);
        assert!(!is_valid_box(&[0.0, 0.0, 0.0, 1.0]));
        assert!(!is_valid_box(&[0.0, 0.0, f32::INFINITY, 1.0]));
    }

    #[test]
    fn known_optimum_3x3() {
        // Greedy would take (0,0)=0.1 then be forced into (1,1)=0.9 ...;
        // the optimum is (0,1), (1,0), (2,2).
        let m = CostMatrix::from_rows(&[&[0.1, 0.2, 0.9], &[0.15, 0.8, 0.9], &[0.9, 0.9, 0.3]])
            .unwrap();
        let a = linear_assignment(&m, 0.85);
        assert_eq!(a.matches, vec![(0, 1), (1, 0), (2, 2)]);
        assert!(a.unmatched_rows.is_empty() && a.unmatched_cols.is_empty());
        let g = greedy_assignment(&m, 0.85);
        assert_eq!(g.matches, vec![(0, 0), (1, 1), (2, 2)]);
    }

    #[test]
    fn threshold_leaves_rows_unmatched() {
        let m = CostMatrix::from_rows(&[&[0.9, 0.95], &[0.2, 0.85], &[0.99, 0.3]]).unwrap();
        let a = linear_assignment(&m, 0.8);
        assert_eq!(a.matches, vec![(1, 0), (2, 1)]);
        assert_eq!(a.unmatched_rows, vec![0]);
        assert!(a.unmatched_cols.is_empty());
        let none = linear_assignment(&m, 0.1);
        assert!(none.matches.is_empty());
        assert_eq!(none.unmatched_rows, vec![0, 1, 2]);
        assert_eq!(none.unmatched_cols, vec![0, 1]);
        let nan = linear_assignment(&m, f32::NAN);
        assert!(nan.matches.is_empty());
    }

    #[test]
    fn threshold_beats_total_count() {
        // Matching both pairs (0.7 + 0.7 = 1.4) vs one pair (0.0): the
        // thresholded objective sum(cost - thresh) prefers... 2*(0.7-0.8) =
        // -0.2 vs (0.0-0.8) = -0.8 -> the single cheap match wins.
        let m = CostMatrix::from_rows(&[&[0.7, 0.0], &[f32::INFINITY, 0.7]]).unwrap();
        let a = linear_assignment(&m, 0.8);
        assert_eq!(a.matches, vec![(0, 1)]);
        assert_eq!(a.unmatched_rows, vec![1]);
        assert_eq!(a.unmatched_cols, vec![0]);
    }

    #[test]
    fn infinite_threshold_maximises_matches() {
        // Same matrix as above: with no limit two matches beat one.
        let m = CostMatrix::from_rows(&[&[0.7, 0.0], &[f32::INFINITY, 0.7]]).unwrap();
        let a = linear_assignment(&m, f32::INFINITY);
        assert_eq!(a.matches, vec![(0, 0), (1, 1)]);
        // Larger component through the JV path.
        let m = CostMatrix::from_rows(&[
            &[0.5, 0.0, 0.5],
            &[f32::INFINITY, 0.5, f32::INFINITY],
            &[f32::INFINITY, 0.5, 0.9],
        ])
        .unwrap();
        let a = linear_assignment(&m, f32::INFINITY);
        assert_eq!(a.matches.len(), 3);
    }

    #[test]
    fn non_square_and_empty() {
        let wide = CostMatrix::from_rows(&[&[0.5, 0.1, 0.4, 0.3]]).unwrap();
        let a = linear_assignment(&wide, 0.8);
        assert_eq!(a.matches, vec![(0, 1)]);
        assert_eq!(a.unmatched_cols, vec![0, 2, 3]);
        let tall = CostMatrix::from_rows(&[&[0.5, 0.6], &[0.1, 0.2], &[0.3, 0.05]]).unwrap();
        let a = linear_assignment(&tall, 0.8);
        assert_eq!(a.matches, vec![(1, 0), (2, 1)]);
        assert_eq!(a.unmatched_rows, vec![0]);
        let empty = CostMatrix::new(0, 3, 0.0);
        let a = linear_assignment(&empty, 0.8);
        assert!(a.matches.is_empty());
        assert_eq!(a.unmatched_cols, vec![0, 1, 2]);
        let empty = CostMatrix::new(2, 0, 0.0);
        assert_eq!(linear_assignment(&empty, 0.8).unmatched_rows, vec![0, 1]);
        assert!(CostMatrix::from_rows(&[&[1.0], &[1.0, 2.0]]).is_none());
    }

    #[test]
    fn nan_and_infinite_costs_never_match() {
        let m = CostMatrix::from_rows(&[&[f32::NAN, f32::INFINITY], &[f32::NEG_INFINITY, 0.5]])
            .unwrap();
        let a = linear_assignment(&m, 0.8);
        assert_eq!(a.matches, vec![(1, 1)]);
    }

    #[test]
    fn fuse_score_matches_bytetrack() {
        let mut m = iou_distance(
            &[[0.0, 0.0, 10.0, 10.0]],
            &[[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0]],
        );
        fuse_score(&mut m, &[0.9, 0.5]);
        assert!((m.get(0, 0).unwrap() - (1.0 - 0.9 / 3.0)).abs() < 1e-6);
        assert!((m.get(0, 1).unwrap() - 0.5).abs() < 1e-6);
        // missing score -> never matched
        let mut m2 = CostMatrix::new(1, 2, 0.0);
        fuse_score(&mut m2, &[1.0]);
        assert_eq!(m2.get(0, 1), Some(f32::INFINITY));
    }

    /// Tiny deterministic generator for the randomized comparisons.
    fn lcg(state: &mut u64) -> f32 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 40) as f32) / ((1u64 << 24) as f32)
    }

    #[test]
    fn matches_brute_force_on_random_matrices() {
        let mut st = 7u64;
        for trial in 0..1500 {
            let rows = 1 + (lcg(&mut st) * 12.0) as usize;
            let cols = 1 + (lcg(&mut st) * 9.0) as usize;
            let mut m = CostMatrix::new(rows, cols, 1.0);
            let quantize = trial % 2 == 0; // many ties
            let sparsity = lcg(&mut st); // share of forbidden pairs
            for r in 0..rows {
                for c in 0..cols {
                    let mut v = lcg(&mut st);
                    if quantize {
                        v = (v * 4.0).floor() / 4.0;
                    }
                    if lcg(&mut st) < sparsity {
                        v = f32::INFINITY;
                    }
                    m.set(r, c, v);
                }
            }
            let thresh = 0.3 + 0.6 * lcg(&mut st);
            let a = linear_assignment(&m, thresh);
            check_valid(&m, thresh, &a);
            let best = brute_force(&m, thresh);
            let got = objective(&m, thresh, &a);
            assert!(
                (got - best).abs() < 1e-5,
                "trial {trial}: got {got}, best {best}, {m:?}"
            );
            let g = greedy_assignment(&m, thresh);
            check_valid(&m, thresh, &g);
        }
    }

    #[test]
    fn components_are_solved_independently() {
        // Two far-apart groups plus an isolated row: the block structure must
        // give the same result as solving the blocks by hand.
        let inf = f32::INFINITY;
        let m = CostMatrix::from_rows(&[
            &[0.1, 0.2, inf, inf],
            &[0.15, 0.8, inf, inf],
            &[inf, inf, 0.4, 0.3],
            &[inf, inf, inf, inf],
        ])
        .unwrap();
        let a = linear_assignment(&m, 0.85);
        assert_eq!(a.matches, vec![(0, 1), (1, 0), (2, 3)]);
        assert_eq!(a.unmatched_rows, vec![3]);
        assert_eq!(a.unmatched_cols, vec![2]);
    }

    #[test]
    fn overlapping_pairs_equals_dense() {
        let mut st = 3u64;
        // (origin, extent, max size, grid snap): plain, negative and mixed
        // tiny/huge boxes, and boxes snapped to a coarse grid so edges touch
        // band boundaries exactly.
        let configs = [
            (0.0, 500.0, 120.0, 0.0),
            (-900.0, 800.0, 300.0, 0.0),
            (0.0, 400.0, 60.0, 20.0),
        ];
        for (origin, extent, max_size, snap) in configs {
            let mut boxes = |n: usize| -> Vec<Bbox> {
                (0..n)
                    .map(|i| {
                        let mut x = origin + lcg(&mut st) * extent;
                        let mut y = origin + lcg(&mut st) * extent;
                        let scale = if i % 7 == 0 { 0.05 } else { 1.0 };
                        let mut w = 1.0 + lcg(&mut st) * max_size * scale;
                        let mut h = 1.0 + lcg(&mut st) * max_size * scale;
                        if snap > 0.0 {
                            x = (x / snap).round() * snap;
                            y = (y / snap).round() * snap;
                            w = (w / snap).ceil() * snap;
                            h = (h / snap).ceil() * snap;
                        }
                        [x, y, x + w, y + h]
                    })
                    .collect()
            };
            let mut a = boxes(150);
            let mut b = boxes(170);
            a.push([f32::NAN, 0.0, 1.0, 1.0]);
            b.push([0.0, 0.0, 0.0, 1.0]);
            let sparse = overlapping_pairs(&a, &b, usize::MAX);
            let mut dense = Vec::new();
            for (r, x) in a.iter().enumerate() {
                for (c, y) in b.iter().enumerate() {
                    let v = iou(x, y);
                    if v > 0.0 {
                        dense.push((r, c, v));
                    }
                }
            }
            assert_eq!(sparse, dense);
            assert!(dense.len() > 50);
            // Capped: per row the best two by IoU.
            let capped = overlapping_pairs(&a, &b, 2);
            for r in 0..a.len() {
                let mut all: Vec<f32> = dense.iter().filter(|p| p.0 == r).map(|p| p.2).collect();
                all.sort_by(|x, y| y.total_cmp(x));
                let mut got: Vec<f32> = capped.iter().filter(|p| p.0 == r).map(|p| p.2).collect();
                got.sort_by(|x, y| y.total_cmp(x));
                all.truncate(2);
                assert_eq!(got, all);
            }
        }
        assert!(overlapping_pairs(&[[0.0, 0.0, 1.0, 1.0]], &[], usize::MAX).is_empty());
    }

    #[test]
    fn sparse_ignores_out_of_range_edges() {
        let edges = [
            Edge {
                row: 0,
                col: 0,
                cost: 0.1,
            },
            Edge {
                row: 5,
                col: 0,
                cost: 0.0,
            },
            Edge {
                row: 0,
                col: 9,
                cost: 0.0,
            },
        ];
        let a = linear_assignment_sparse(1, 1, &edges, 0.5);
        assert_eq!(a.matches, vec![(0, 0)]);
        let g = greedy_assignment_sparse(1, 1, &edges, 0.5);
        assert_eq!(g.matches, vec![(0, 0)]);
    }
}
