//! CLEAR-MOT (MOTA, MOTP, ID switches) and identity (IDF1) metrics.
//!
//! Feed one frame at a time to a [`MotAccumulator`]: the ground-truth boxes
//! and the tracker's boxes, each with its id. A ground-truth and a
//! hypothesis box correspond when their IoU is at least the threshold (0.5
//! by default).
//!
//! * **CLEAR-MOT** (per frame): a ground-truth object keeps the hypothesis it
//!   was last matched to when that hypothesis is present and still overlaps
//!   enough; the remaining objects and hypotheses are matched by an optimal
//!   assignment (most matches, then highest total IoU). A match whose hypothesis differs from
//!   the object's previous one (at any earlier frame) is an ID switch.
//!   `MOTA = 1 − (FN + FP + IDSW) / GT`; MOTP here is the mean IoU of the
//!   matches (higher is better).
//! * **IDF1** (global): every (object, hypothesis) pair scores the number of
//!   frames in which both are present and overlap enough; a one-to-one
//!   matching of object ids to hypothesis ids maximising the total score
//!   gives IDTP; `IDFN = GT − IDTP`, `IDFP = hypotheses − IDTP`,
//!   `IDF1 = 2·IDTP / (2·IDTP + IDFP + IDFN)`.
//!
//! Invalid boxes (non-finite or empty) still count as present (as a miss or
//! a false positive) but never overlap anything. Duplicate ids within one
//! frame are counted as separate boxes.

use std::collections::HashMap;

use super::assignment::{Bbox, Edge, iou, linear_assignment_sparse};

/// Summary of an evaluation. Counts are over all frames fed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MotMetrics {
    /// Frames fed.
    pub frames: u64,
    /// Ground-truth boxes.
    pub gt: u64,
    /// Hypothesis (tracker) boxes.
    pub hyp: u64,
    /// Matched pairs (CLEAR-MOT true positives).
    pub matches: u64,
    /// Missed ground-truth boxes.
    pub false_negatives: u64,
    /// Unmatched hypothesis boxes.
    pub false_positives: u64,
    /// Identity switches.
    pub id_switches: u64,
    /// Sum of the IoU of all matches (for MOTP).
    pub iou_sum: f64,
    /// Identity true positives.
    pub idtp: u64,
    /// Identity false positives.
    pub idfp: u64,
    /// Identity false negatives.
    pub idfn: u64,
}

impl MotMetrics {
    /// `1 − (FN + FP + IDSW) / GT`. Without ground truth: 1 when there is
    /// no error, otherwise `−errors` (finite, unlike the formula).
    pub fn mota(&self) -> f64 {
        let errors = (self.false_negatives + self.false_positives + self.id_switches) as f64;
        if self.gt == 0 {
            return if errors == 0.0 { 1.0 } else { -errors };
        }
        1.0 - errors / self.gt as f64
    }

    /// Mean IoU of the matches (0 when there are none).
    pub fn motp(&self) -> f64 {
        if self.matches == 0 {
            0.0
        } else {
            self.iou_sum / self.matches as f64
        }
    }

    /// `2·IDTP / (2·IDTP + IDFP + IDFN)`; 1 when both sides are empty.
    pub fn idf1(&self) -> f64 {
        let den = 2 * self.idtp + self.idfp + self.idfn;
        if den == 0 {
            1.0
        } else {
            2.0 * self.idtp as f64 / den as f64
        }
    }

    /// Matches / GT (0 when no ground truth).
    pub fn recall(&self) -> f64 {
        ratio(self.matches, self.gt)
    }

    /// Matches / hypotheses (0 when none).
    pub fn precision(&self) -> f64 {
        ratio(self.matches, self.hyp)
    }

    /// Sum the counts of several evaluations (e.g. the sequences of a suite);
    /// ratios of the result are the pooled ("combined") metrics.
    pub fn combine(items: &[MotMetrics]) -> MotMetrics {
        let mut m = MotMetrics::default();
        for x in items {
            m.frames += x.frames;
            m.gt += x.gt;
            m.hyp += x.hyp;
            m.matches += x.matches;
            m.false_negatives += x.false_negatives;
            m.false_positives += x.false_positives;
            m.id_switches += x.id_switches;
            m.iou_sum += x.iou_sum;
            m.idtp += x.idtp;
            m.idfp += x.idfp;
            m.idfn += x.idfn;
        }
        m
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Accumulates frames and computes [`MotMetrics`].
#[derive(Debug, Clone)]
pub struct MotAccumulator {
    min_iou: f32,
    frames: u64,
    gt: u64,
    hyp: u64,
    matches: u64,
    fn_: u64,
    fp: u64,
    idsw: u64,
    iou_sum: f64,
    /// Ground-truth id → hypothesis id it was last matched to.
    last_match: HashMap<u64, u64>,
    /// (gt id, hyp id) → frames where both overlap >= min_iou.
    pair_frames: HashMap<(u64, u64), u64>,
    gt_frames: HashMap<u64, u64>,
    hyp_frames: HashMap<u64, u64>,
}

impl Default for MotAccumulator {
    fn default() -> Self {
        Self::new(0.5)
    }
}

impl MotAccumulator {
    /// A new accumulator with the given minimum IoU for a correspondence
    /// (0.5 is standard). A NaN threshold makes nothing correspond.
    pub fn new(min_iou: f32) -> Self {
        Self {
            min_iou,
            frames: 0,
            gt: 0,
            hyp: 0,
            matches: 0,
            fn_: 0,
            fp: 0,
            idsw: 0,
            iou_sum: 0.0,
            last_match: HashMap::new(),
            pair_frames: HashMap::new(),
            gt_frames: HashMap::new(),
            hyp_frames: HashMap::new(),
        }
    }

    /// Add one frame: ground-truth `(id, box)` and hypothesis `(id, box)`.
    pub fn update(&mut self, gt: &[(u64, Bbox)], hyp: &[(u64, Bbox)]) {
        self.frames += 1;
        self.gt += gt.len() as u64;
        self.hyp += hyp.len() as u64;
        for (id, _) in gt {
            *self.gt_frames.entry(*id).or_default() += 1;
        }
        for (id, _) in hyp {
            *self.hyp_frames.entry(*id).or_default() += 1;
        }
        // Pairwise IoU of corresponding candidates (dense: evaluation only).
        let mut ious = vec![0.0f32; gt.len() * hyp.len()];
        for (g, (gid, gb)) in gt.iter().enumerate() {
            for (h, (hid, hb)) in hyp.iter().enumerate() {
                let v = iou(gb, hb);
                ious[g * hyp.len() + h] = v;
                if v >= self.min_iou {
                    *self.pair_frames.entry((*gid, *hid)).or_default() += 1;
                }
            }
        }
        let ok = |g: usize, h: usize| ious[g * hyp.len() + h] >= self.min_iou;

        let mut gt_used = vec![false; gt.len()];
        let mut hyp_used = vec![false; hyp.len()];
        let mut frame_matches: Vec<(usize, usize)> = Vec::new();
        // 1. Keep previous correspondences still valid.
        for (g, (gid, _)) in gt.iter().enumerate() {
            if let Some(prev) = self.last_match.get(gid)
                && let Some(h) = (0..hyp.len()).find(|&h| !hyp_used[h] && hyp[h].0 == *prev)
                && ok(g, h)
            {
                gt_used[g] = true;
                hyp_used[h] = true;
                frame_matches.push((g, h));
            }
        }
        // 2. Optimal assignment of the rest, cost 1 − IoU.
        let rows: Vec<usize> = (0..gt.len()).filter(|&g| !gt_used[g]).collect();
        let cols: Vec<usize> = (0..hyp.len()).filter(|&h| !hyp_used[h]).collect();
        let mut edges = Vec::new();
        for (r, &g) in rows.iter().enumerate() {
            for (c, &h) in cols.iter().enumerate() {
                if ok(g, h) {
                    edges.push(Edge {
                        row: r,
                        col: c,
                        cost: 1.0 - ious[g * hyp.len() + h],
                    });
                }
            }
        }
        // Edges are already limited to IoU >= min_iou; an infinite threshold
        // maximises the number of matches first, then their total IoU (what
        // the usual MOT tools do).
        let a = linear_assignment_sparse(rows.len(), cols.len(), &edges, f32::INFINITY);
        for (r, c) in a.matches {
            let (g, h) = (rows[r], cols[c]);
            let (gid, hid) = (gt[g].0, hyp[h].0);
            if self.last_match.get(&gid).is_some_and(|&p| p != hid) {
                self.idsw += 1;
            }
            frame_matches.push((g, h));
        }
        for &(g, h) in &frame_matches {
            self.last_match.insert(gt[g].0, hyp[h].0);
            self.iou_sum += f64::from(ious[g * hyp.len() + h]);
        }
        let m = frame_matches.len() as u64;
        self.matches += m;
        self.fn_ += gt.len() as u64 - m;
        self.fp += hyp.len() as u64 - m;
    }

    /// Metrics of everything fed so far (IDF1 is recomputed globally).
    pub fn summary(&self) -> MotMetrics {
        let idtp = self.idtp();
        MotMetrics {
            frames: self.frames,
            gt: self.gt,
            hyp: self.hyp,
            matches: self.matches,
            false_negatives: self.fn_,
            false_positives: self.fp,
            id_switches: self.idsw,
            iou_sum: self.iou_sum,
            idtp,
            idfp: self.hyp - idtp.min(self.hyp),
            idfn: self.gt - idtp.min(self.gt),
        }
    }

    /// Maximum-weight one-to-one matching of gt ids to hyp ids, weight =
    /// frames of correspondence. Solved as a min-cost assignment of
    /// `−weight` with threshold 0 (every pair with a positive weight is
    /// worth matching).
    fn idtp(&self) -> u64 {
        let mut gt_ids: Vec<u64> = self.gt_frames.keys().copied().collect();
        let mut hyp_ids: Vec<u64> = self.hyp_frames.keys().copied().collect();
        gt_ids.sort_unstable();
        hyp_ids.sort_unstable();
        let gpos: HashMap<u64, usize> = gt_ids.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let hpos: HashMap<u64, usize> = hyp_ids.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let mut edges = Vec::with_capacity(self.pair_frames.len());
        for (&(g, h), &n) in &self.pair_frames {
            if let (Some(&r), Some(&c)) = (gpos.get(&g), hpos.get(&h)) {
                edges.push(Edge {
                    row: r,
                    col: c,
                    cost: -(n as f32),
                });
            }
        }
        let a = linear_assignment_sparse(gt_ids.len(), hyp_ids.len(), &edges, 0.0);
        a.matches
            .iter()
            .map(|&(r, c)| {
                self.pair_frames
                    .get(&(gt_ids[r], hyp_ids[c]))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32) -> Bbox {
        [x, 0.0, x + 10.0, 10.0]
    }

    type Boxes = Vec<(u64, Bbox)>;

    fn run(frames: &[(Boxes, Boxes)]) -> MotMetrics {
        let mut acc = MotAccumulator::default();
        for (g, h) in frames {
            acc.update(g, h);
        }
        acc.summary()
    }

    #[test]
    fn perfect_tracking() {
        let frames: Vec<_> = (0..10)
            .map(|t| {
                let x = t as f32;
                (
                    vec![(1, b(x)), (2, b(100.0 + x))],
                    vec![(7, b(x + 1.0)), (9, b(100.0 + x))],
                )
            })
            .collect();
        let m = run(&frames);
        assert_eq!(m.mota(), 1.0);
        assert_eq!(m.idf1(), 1.0);
        assert_eq!(m.id_switches, 0);
        assert_eq!((m.gt, m.matches, m.idtp), (20, 20, 20));
        assert!(m.motp() > 0.8);
    }

    #[test]
    fn one_id_switch() {
        // One object for 10 frames, hypothesis id 1 for 4 frames then id 2.
        let frames: Vec<_> = (0..10)
            .map(|t| {
                let id = if t < 4 { 1 } else { 2 };
                (vec![(5, b(0.0))], vec![(id, b(0.0))])
            })
            .collect();
        let m = run(&frames);
        assert_eq!(m.id_switches, 1);
        // MOTA = 1 - 1/10
        assert!((m.mota() - 0.9).abs() < 1e-12);
        // IDTP = 6 (best single id), IDFP = 4, IDFN = 4 -> 12 / 20
        assert_eq!((m.idtp, m.idfp, m.idfn), (6, 4, 4));
        assert!((m.idf1() - 0.6).abs() < 1e-12);
    }

    #[test]
    fn all_missed() {
        let frames: Vec<_> = (0..5)
            .map(|_| (vec![(1, b(0.0)), (2, b(50.0))], vec![]))
            .collect();
        let m = run(&frames);
        assert_eq!(m.false_negatives, 10);
        assert_eq!(m.mota(), 0.0);
        assert_eq!(m.idf1(), 0.0);
        assert_eq!(m.id_switches, 0);
    }

    #[test]
    fn false_positives_and_low_overlap() {
        // Hypothesis overlaps with IoU 1/3 < 0.5: one FN and one FP per frame.
        let frames: Vec<_> = (0..4)
            .map(|_| (vec![(1, b(0.0))], vec![(1, b(5.0))]))
            .collect();
        let m = run(&frames);
        assert_eq!((m.false_negatives, m.false_positives), (4, 4));
        assert!((m.mota() - (1.0 - 8.0 / 4.0)).abs() < 1e-12);
        assert_eq!(m.idf1(), 0.0);
    }

    #[test]
    fn previous_match_is_kept_over_better_iou() {
        // Frame 0: gt 1 ↔ hyp A (exact). Frame 1: hyp B fits gt 1 better but
        // A still overlaps >= 0.5: no switch (CLEAR-MOT keeps A).
        let frames = vec![
            (vec![(1, b(0.0))], vec![(10, b(0.0))]),
            (vec![(1, b(0.0))], vec![(10, b(2.0)), (11, b(0.0))]),
        ];
        let m = run(&frames);
        assert_eq!(m.id_switches, 0);
        assert_eq!(m.false_positives, 1);
    }

    #[test]
    fn swap_counts_two_switches() {
        // Two objects whose hypothesis ids swap half way.
        let frames: Vec<_> = (0..8)
            .map(|t| {
                let (a, c) = if t < 4 { (1, 2) } else { (2, 1) };
                (
                    vec![(1, b(0.0)), (2, b(100.0))],
                    vec![(a, b(0.0)), (c, b(100.0))],
                )
            })
            .collect();
        let m = run(&frames);
        assert_eq!(m.id_switches, 2);
        assert!((m.mota() - (1.0 - 2.0 / 16.0)).abs() < 1e-12);
        // Best id mapping keeps 4 frames per object: IDTP 8 of 16.
        assert_eq!(m.idtp, 8);
        assert!((m.idf1() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn reentry_with_same_id_is_not_a_switch() {
        let mut frames = Vec::new();
        for t in 0..6 {
            let h = if (2..4).contains(&t) {
                vec![]
            } else {
                vec![(3, b(0.0))]
            };
            frames.push((vec![(1, b(0.0))], h));
        }
        let m = run(&frames);
        assert_eq!(m.id_switches, 0);
        assert_eq!(m.false_negatives, 2);
        assert!((m.idf1() - 8.0 / 10.0).abs() < 1e-12);
    }

    #[test]
    fn empty_and_combine() {
        let m = run(&[(vec![], vec![])]);
        assert_eq!((m.mota(), m.idf1()), (1.0, 1.0));
        let a = run(&[(vec![(1, b(0.0))], vec![(1, b(0.0))])]);
        let c = run(&[(vec![(1, b(0.0))], vec![])]);
        let all = MotMetrics::combine(&[a, c]);
        assert_eq!((all.gt, all.matches, all.false_negatives), (2, 1, 1));
        assert!((all.mota() - 0.5).abs() < 1e-12);
    }
}
