//! Batch scoring that evaluates the forest once per *cell* instead of once per row.
//! Owns the cell key of a row and the bounded per-batch memo of answers; it must not
//! change what the forest answers (tests compare it with [`crate::forest::Forest`]'s own
//! walk), only how often the forest is asked.
//!
//! # Why this is exact
//! Every node of every tree tests `x[feature] > threshold`. Sort each feature's distinct
//! thresholds; a value's *interval* is how many of them lie below it. Two rows with the
//! same four intervals get the same outcome at every node of every tree, hence the same
//! leaves, and [`Compiled`] adds those leaves in the same order: bit-identical
//! probabilities. The forest is piecewise constant on this grid of cells. (A NaN, which
//! validated features never hold, compares false everywhere and lands in interval 0,
//! exactly where the walk sends it: left at every node.)
//!
//! # Why a memo, not a table
//! The full grid of a 100-tree Iris forest has hundreds of thousands of cells; filling it
//! would cost more than scoring a million rows. Real batches touch few of them (the
//! measurements have 0.1 cm resolution and cluster by species), so the first row of a
//! cell is evaluated and every later row of that cell is a lookup. The memo is bounded
//! ([`MAX_SLOTS`]); once full, new cells are evaluated without being remembered, so a
//! file of all-different cells costs one key and one probe per row more than before.
//! It lives for one batch (built by [`crate::Model::batch_scorer`]), so loading a model
//! does no extra work and the function's cold start is unchanged.

use crate::compiled::Compiled;
use crate::forest::Forest;

/// Rows whose keys are computed before their misses are evaluated together (so the
/// misses still go through [`Compiled::predict_batch`]'s several-rows-per-test path).
const CHUNK: usize = 256;

/// The memo's largest table: 65,536 slots, at most half of them used (≈ 1.5 MB for three
/// classes), far inside the function's memory.
const MAX_SLOTS: usize = 1 << 16;

/// The cell number of a row whose cell the memo does not keep.
pub const NOT_REMEMBERED: u32 = u32::MAX;

/// First table size; doubled while more than half full, up to [`MAX_SLOTS`].
const FIRST_SLOTS: usize = 1 << 8;

/// Each feature's distinct test thresholds, ascending: the grid the forest is constant on.
#[derive(Debug, Clone)]
pub struct Cells {
    cuts: [Vec<f64>; 4],
}

impl Cells {
    /// The grid of `forest` (which must have passed [`Forest::validate`]).
    pub fn of(forest: &Forest) -> Self {
        let mut cuts: [Vec<f64>; 4] = Default::default();
        for (i, node) in forest.nodes.iter().enumerate() {
            if node.child as usize != i {
                cuts[usize::from(node.feature) & 3].push(node.threshold);
            }
        }
        for c in &mut cuts {
            // Thresholds are never NaN (validate refuses them), so total_cmp orders them
            // as `<` does; dedup keeps one of -0.0 and +0.0, which every `>` treats alike.
            c.sort_by(f64::total_cmp);
            c.dedup();
        }
        Self { cuts }
    }

    /// The interval of `x` in each feature's thresholds, packed 16 bits per feature
    /// (never all ones); `None` when some feature has more thresholds than that can
    /// number (only possible for forests trained on large `--data` files).
    #[inline]
    pub fn key(&self, x: &[f64; 4]) -> Option<u64> {
        let mut key = 0u64;
        for (cuts, &v) in self.cuts.iter().zip(x) {
            let q = interval(cuts, v);
            if q >= usize::from(u16::MAX) {
                return None;
            }
            key = (key << 16) | q as u64;
        }
        Some(key)
    }
}

/// How many of the ascending `cuts` are `< x` (so `x > cuts[j]` exactly when `j` is
/// below it). Branch-free: a batch's values jump between intervals unpredictably.
#[inline]
fn interval(cuts: &[f64], x: f64) -> usize {
    let mut base = 0;
    let mut size = cuts.len();
    if size == 0 {
        return 0;
    }
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = std::hint::select_unpredictable(cuts[mid - 1] < x, mid, base);
        size -= half;
    }
    base + usize::from(cuts[base] < x)
}

/// Scores many rows of one batch, remembering each cell's probabilities. Get one from
/// [`crate::Model::batch_scorer`] per batch file.
#[derive(Debug)]
pub struct BatchScorer<'m> {
    compiled: &'m Compiled,
    cells: Cells,
    n_classes: usize,
    /// Open addressing, linear probing: `key + 1` per slot, 0 when empty.
    slots: Vec<u64>,
    /// Per used slot, where its probabilities start in `values`.
    at: Vec<u32>,
    values: Vec<f64>,
    used: usize,
    misses: Vec<[f64; 4]>,
    /// Per miss: its row within the chunk and its key.
    miss_rows: Vec<(usize, Option<u64>)>,
    miss_out: Vec<f64>,
}

impl<'m> BatchScorer<'m> {
    pub(crate) fn new(compiled: &'m Compiled, forest: &Forest) -> Self {
        Self {
            compiled,
            cells: Cells::of(forest),
            n_classes: forest.n_classes,
            slots: vec![0; FIRST_SLOTS],
            at: vec![0; FIRST_SLOTS],
            values: Vec::new(),
            used: 0,
            misses: Vec::with_capacity(CHUNK),
            miss_rows: Vec::with_capacity(CHUNK),
            miss_out: Vec::with_capacity(CHUNK * forest.n_classes),
        }
    }

    /// Probabilities for `rows` into `out` (`rows.len() * n_classes`, row-major), bit for
    /// bit what [`crate::Model::predict_proba_into`] writes.
    pub fn predict_proba_into(&mut self, rows: &[[f64; 4]], out: &mut [f64]) {
        let mut cells = vec![NOT_REMEMBERED; rows.len()];
        self.predict_cells_into(rows, out, &mut cells);
    }

    /// As [`Self::predict_proba_into`], and each row's cell number into `cells`: equal
    /// numbers mean equal probabilities, so a caller may reuse whatever it derived from
    /// them (the batch writer reuses the serialized text). Numbers count up from 0 in the
    /// order cells are first met; [`NOT_REMEMBERED`] for a row whose cell the memo does
    /// not keep.
    pub fn predict_cells_into(&mut self, rows: &[[f64; 4]], out: &mut [f64], cells: &mut [u32]) {
        let nc = self.n_classes;
        assert_eq!(
            out.len(),
            rows.len() * nc,
            "output buffer must be rows * classes"
        );
        assert_eq!(cells.len(), rows.len(), "cell buffer must be one per row");
        for ((rows, out), cells) in rows
            .chunks(CHUNK)
            .zip(out.chunks_mut(CHUNK * nc))
            .zip(cells.chunks_mut(CHUNK))
        {
            self.chunk(rows, out, cells);
        }
    }

    /// Distinct cells remembered so far.
    pub fn remembered(&self) -> usize {
        self.used
    }

    fn chunk(&mut self, rows: &[[f64; 4]], out: &mut [f64], cells: &mut [u32]) {
        let nc = self.n_classes;
        self.misses.clear();
        self.miss_rows.clear();
        for (i, ((x, out), cell)) in rows
            .iter()
            .zip(out.chunks_exact_mut(nc))
            .zip(cells.iter_mut())
            .enumerate()
        {
            let key = self.cells.key(x);
            match key.and_then(|k| self.find(k)) {
                Some(at) => {
                    out.copy_from_slice(&self.values[at..at + nc]);
                    *cell = (at / nc) as u32;
                }
                None => {
                    self.misses.push(*x);
                    self.miss_rows.push((i, key));
                }
            }
        }
        if self.misses.is_empty() {
            return;
        }
        self.miss_out.clear();
        self.miss_out.resize(self.misses.len() * nc, 0.0);
        self.compiled
            .predict_batch(&self.misses, &mut self.miss_out);
        for m in 0..self.miss_rows.len() {
            let (row, key) = self.miss_rows[m];
            let p = &self.miss_out[m * nc..(m + 1) * nc];
            out[row * nc..(row + 1) * nc].copy_from_slice(p);
            cells[row] = key.map_or(NOT_REMEMBERED, |key| self.remember(key, m));
        }
    }

    #[inline]
    fn slot_of(&self, key: u64) -> usize {
        // Fibonacci hashing: the packed intervals differ in their low bits of each 16.
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// Where `key`'s probabilities start in `values`, if remembered.
    #[inline]
    fn find(&self, key: u64) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut s = self.slot_of(key);
        loop {
            let k = self.slots[s];
            if k == key + 1 {
                return Some(self.at[s] as usize);
            }
            if k == 0 {
                return None;
            }
            s = (s + 1) & mask;
        }
    }

    /// Remember miss `m`'s probabilities under `key` (unless already there); its cell
    /// number, or [`NOT_REMEMBERED`] when the memo is full.
    fn remember(&mut self, key: u64, m: usize) -> u32 {
        let nc = self.n_classes;
        if let Some(at) = self.find(key) {
            return (at / nc) as u32;
        }
        if 2 * (self.used + 1) > self.slots.len() {
            if self.slots.len() == MAX_SLOTS {
                return NOT_REMEMBERED;
            }
            self.grow();
        }
        let at = self.values.len() as u32;
        self.values
            .extend_from_slice(&self.miss_out[m * nc..(m + 1) * nc]);
        self.insert(key, at);
        self.used += 1;
        (self.used - 1) as u32
    }

    fn insert(&mut self, key: u64, at: u32) {
        let mask = self.slots.len() - 1;
        let mut s = self.slot_of(key);
        while self.slots[s] != 0 {
            s = (s + 1) & mask;
        }
        self.slots[s] = key + 1;
        self.at[s] = at;
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old_slots = std::mem::replace(&mut self.slots, vec![0; size]);
        let old_at = std::mem::replace(&mut self.at, vec![0; size]);
        for (k, at) in old_slots.into_iter().zip(old_at) {
            if k != 0 {
                self.insert(k - 1, at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::dataset::Dataset;
    use crate::forest::{ForestParams, TrainingSet};

    fn forest(
        trees: usize,
        max_depth: Option<usize>,
        rows: &[[f64; 4]],
        labels: &[usize],
    ) -> Forest {
        let n_classes = labels.iter().max().map_or(1, |m| m + 1);
        let set = TrainingSet {
            rows,
            labels,
            n_classes,
        };
        Forest::train(
            &set,
            ForestParams {
                trees,
                max_depth,
                max_features: 2,
                seed: 7,
            },
        )
    }

    fn iris_forest() -> Forest {
        let data = Dataset::builtin().expect("builtin");
        forest(100, None, &data.rows, &data.labels)
    }

    /// The reference: the straightforward walk, one row at a time.
    fn walked(f: &Forest, rows: &[[f64; 4]]) -> Vec<u64> {
        let mut one = vec![0.0; f.n_classes];
        let mut out = Vec::with_capacity(rows.len() * f.n_classes);
        for x in rows {
            f.predict_proba_one(x, &mut one);
            out.extend(one.iter().map(|p| p.to_bits()));
        }
        out
    }

    /// Scores `rows` with one scorer in two calls split at `split` (so the memo carries
    /// over), as bits.
    fn scored(f: &Forest, rows: &[[f64; 4]], split: usize) -> (Vec<u64>, usize) {
        let compiled = Compiled::new(f);
        let mut scorer = BatchScorer::new(&compiled, f);
        let nc = f.n_classes;
        let mut out = vec![f64::NAN; rows.len() * nc];
        let split = split.min(rows.len());
        let (head, tail) = out.split_at_mut(split * nc);
        scorer.predict_proba_into(&rows[..split], head);
        scorer.predict_proba_into(&rows[split..], tail);
        (
            out.iter().map(|p| p.to_bits()).collect(),
            scorer.remembered(),
        )
    }

    /// Values no trained threshold is near, and every IEEE edge: ±0.0, subnormals, the
    /// extremes, infinities and NaN (validated features never hold the last ones, but
    /// the scorer takes raw rows and must answer as the walk does).
    const SPECIAL: [f64; 14] = [
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 2.0,
        -f64::MIN_POSITIVE / 2.0,
        5e-324,
        1e300,
        f64::MAX,
        f64::MIN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -1.0,
        100.0,
    ];

    /// Every threshold of `f` for its feature, and its two neighbouring floats.
    fn on_and_beside_thresholds(f: &Forest) -> [Vec<f64>; 4] {
        let mut out: [Vec<f64>; 4] = Default::default();
        for (feature, cuts) in Cells::of(f).cuts.iter().enumerate() {
            for &t in cuts {
                out[feature].extend([t.next_down(), t, t.next_up()]);
            }
        }
        out
    }

    #[test]
    fn every_threshold_its_neighbours_and_ieee_edges_score_like_the_walk() {
        let data = Dataset::builtin().expect("builtin");
        let f = iris_forest();
        let near = on_and_beside_thresholds(&f);
        let mut rows = data.rows.clone();
        // Each feature sweeps its thresholds while the others cycle through the data,
        // then every special value in every position.
        for (feature, values) in near.iter().enumerate() {
            for (i, &v) in values.iter().enumerate() {
                let mut x = data.rows[i % data.rows.len()];
                x[feature] = v;
                rows.push(x);
            }
        }
        for (i, &s) in SPECIAL.iter().enumerate() {
            for feature in 0..4 {
                let mut x = data.rows[(i * 13) % data.rows.len()];
                x[feature] = s;
                rows.push(x);
            }
            rows.push([s; 4]);
        }
        // Twice, so the second half is answered from the memo.
        let again = rows.clone();
        rows.extend(again);
        let (fast, remembered) = scored(&f, &rows, rows.len() / 3);
        assert_eq!(fast, walked(&f, &rows));
        assert!(remembered > 0 && remembered < rows.len() / 2);
    }

    #[test]
    fn negative_zero_and_nan_land_where_the_walk_sends_them() {
        let f = iris_forest();
        let cells = Cells::of(&f);
        assert_eq!(cells.key(&[0.0; 4]), cells.key(&[-0.0; 4]));
        // NaN fails every `>`, like the smallest value: interval 0 everywhere.
        assert_eq!(cells.key(&[f64::NAN; 4]), Some(0));
        assert_eq!(cells.key(&[f64::NEG_INFINITY; 4]), Some(0));
    }

    #[test]
    fn small_depth_two_class_and_walked_trees_agree_too() {
        let data = Dataset::builtin().expect("builtin");
        let shallow = forest(30, Some(2), &data.rows, &data.labels);
        let two: Vec<usize> = data.labels.iter().map(|&l| usize::from(l > 0)).collect();
        let binary = forest(10, None, &data.rows, &two);
        // Labels alternating along one feature: trees with more than 64 leaves, which
        // `Compiled` walks instead of masking.
        let wide_rows: Vec<[f64; 4]> = (0..300)
            .map(|i| [1.0 + i as f64 * 0.01, 1.0, 1.0, 1.0])
            .collect();
        let wide_labels: Vec<usize> = (0..300).map(|i| i % 3).collect();
        let wide = forest(5, None, &wide_rows, &wide_labels);
        for (name, f, rows) in [
            ("shallow", &shallow, &data.rows),
            ("two classes", &binary, &data.rows),
            ("over 64 leaves", &wide, &wide_rows),
        ] {
            let mut rows = rows.clone();
            for (feature, values) in on_and_beside_thresholds(f).iter().enumerate() {
                for (i, &v) in values.iter().enumerate() {
                    let mut x = rows[i % rows.len()];
                    x[feature] = v;
                    rows.push(x);
                }
            }
            let (fast, _) = scored(f, &rows, 100);
            assert_eq!(fast, walked(f, &rows), "{name}");
        }
    }

    #[test]
    fn the_memo_stops_growing_at_its_bound_and_still_answers_exactly() {
        let f = iris_forest();
        let cells = Cells::of(&f);
        // One row per cell of a corner of the grid: more cells than the memo keeps.
        let mid = |cuts: &[f64], q: usize| -> f64 {
            match (q.checked_sub(1).map(|i| cuts[i]), cuts.get(q)) {
                (Some(lo), Some(&hi)) => (lo + hi) / 2.0,
                (None, Some(&hi)) => hi - 1.0,
                (Some(lo), None) => lo + 1.0,
                (None, None) => 1.0,
            }
        };
        let c = &cells.cuts;
        let mut rows = Vec::new();
        'fill: for a in 0..=c[0].len() {
            for b in 0..=c[1].len() {
                for p in 0..=c[2].len() {
                    for w in 0..=c[3].len() {
                        rows.push([mid(&c[0], a), mid(&c[1], b), mid(&c[2], p), mid(&c[3], w)]);
                        if rows.len() == MAX_SLOTS {
                            break 'fill;
                        }
                    }
                }
            }
        }
        assert_eq!(
            rows.len(),
            MAX_SLOTS,
            "the grid has fewer cells than the bound"
        );
        let (fast, remembered) = scored(&f, &rows, 1000);
        assert_eq!(remembered, MAX_SLOTS / 2);
        assert_eq!(fast, walked(&f, &rows));
    }

    #[test]
    fn rows_without_a_key_are_evaluated_directly() {
        let data = Dataset::builtin().expect("builtin");
        let f = iris_forest();
        let compiled = Compiled::new(&f);
        let mut scorer = BatchScorer::new(&compiled, &f);
        // A first feature with more thresholds than 16 bits number: large values get no
        // key. The real grid's other features keep the answers checkable.
        let real = Cells::of(&f);
        let many: Vec<f64> = (0..70_000).map(|i| f64::from(i) * 1e-3).collect();
        scorer.cells = Cells {
            cuts: [
                many,
                real.cuts[1].clone(),
                real.cuts[2].clone(),
                real.cuts[3].clone(),
            ],
        };
        let rows: Vec<[f64; 4]> = data
            .rows
            .iter()
            .map(|r| [r[0] * 1e4, r[1], r[2], r[3]])
            .collect();
        assert!(rows.iter().all(|x| scorer.cells.key(x).is_none()));
        let mut out = vec![0.0; rows.len() * 3];
        scorer.predict_proba_into(&rows, &mut out);
        let bits: Vec<u64> = out.iter().map(|p| p.to_bits()).collect();
        assert_eq!(bits, walked(&f, &rows));
        assert_eq!(scorer.remembered(), 0);
    }

    #[test]
    #[should_panic(expected = "output buffer must be rows * classes")]
    fn a_wrong_output_length_is_refused() {
        let f = iris_forest();
        let compiled = Compiled::new(&f);
        let mut scorer = BatchScorer::new(&compiled, &f);
        scorer.predict_proba_into(&[[1.0; 4]], &mut [0.0; 2]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn interval_counts_the_cuts_below(
            mut cuts in prop::collection::vec(-1e3f64..1e3, 0..80),
            x in prop_oneof![-1.2e3f64..1.2e3, prop::num::f64::ANY],
        ) {
            cuts.sort_by(f64::total_cmp);
            prop_assert_eq!(interval(&cuts, x), cuts.iter().filter(|&&t| t < x).count());
        }

        /// Random batches drawn from thresholds, their neighbours, IEEE edges, the
        /// data and arbitrary floats; repeats come naturally, so hits and misses mix.
        #[test]
        fn random_batches_score_like_the_walk(
            picks in prop::collection::vec(
                (0usize..4, 0usize..1_000_000, prop_oneof![
                    3 => Just(None),
                    1 => prop::num::f64::ANY.prop_map(Some),
                ]),
                1..1500,
            ),
            split in 0usize..1500,
        ) {
            thread_local! {
                static FOREST: Forest = iris_forest();
            }
            FOREST.with(|f| {
                let data = Dataset::builtin().expect("builtin");
                let near = on_and_beside_thresholds(f);
                let rows: Vec<[f64; 4]> = picks
                    .chunks(4)
                    .map(|four| {
                        let mut x = data.rows[four[0].1 % data.rows.len()];
                        for &(feature, pick, any) in four {
                            let pool = &near[feature];
                            x[feature] = any.unwrap_or(match pick % 4 {
                                0 => SPECIAL[pick % SPECIAL.len()],
                                _ => pool[pick % pool.len()],
                            });
                        }
                        x
                    })
                    .collect();
                let (fast, _) = scored(f, &rows, split);
                assert_eq!(fast, walked(f, &rows));
            });
        }
    }
}
