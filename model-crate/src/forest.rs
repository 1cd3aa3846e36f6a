//! The Random Forest: training bagged CART trees (Gini) and predicting class
//! probabilities from a flat node layout. Owns the algorithm and the in-memory/serialized
//! layout of the trees; it must not know about files, species names or metrics.
//!
//! # Algorithm (as Breiman 2001 and scikit-learn's `RandomForestClassifier`)
//! Each tree sees a bootstrap sample (n draws with replacement, kept as per-row weights).
//! At each node a random subset of `max_features` features is searched (more are tried
//! only when all sampled ones are constant) for the threshold that minimises the
//! weighted Gini impurity of the children; thresholds sit midway between neighbouring
//! values, and `x <= threshold` goes left. Nodes stop splitting when pure, at
//! `max_depth`, or when no feature varies. A tree's answer for a row is its leaf's class
//! distribution; the forest's probabilities are the mean over trees (scikit-learn's
//! `predict_proba`).
//!
//! # Layout
//! All trees' nodes live in one array of 16-byte [`Node`]s. An internal node's children
//! are adjacent (`child`, `child + 1`), so one index is stored. A leaf points to itself
//! with an infinite threshold, so a walk of exactly the tree's depth needs no "is this a
//! leaf" branch: `i = child + (x[feature] > threshold)` stays put once at a leaf. This
//! is the serialized layout and the reference answer; [`crate::compiled`] derives the
//! faster prediction layout from it.

use serde::{Deserialize, Serialize};

use crate::rng::{Rng, Stream};

/// Training parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    pub trees: usize,
    /// `None`: grow until pure (scikit-learn's default).
    pub max_depth: Option<usize>,
    /// Features searched per split; [`default_max_features`] is sqrt(n_features).
    pub max_features: usize,
    pub seed: u64,
}

/// sqrt(n_features), rounded down, at least 1 (scikit-learn's `"sqrt"`).
pub fn default_max_features(n_features: usize) -> usize {
    (n_features as f64).sqrt().floor().max(1.0) as usize
}

/// A trained forest in the flat layout described in the module doc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub n_features: usize,
    pub n_classes: usize,
    /// First node of each tree.
    pub roots: Vec<u32>,
    /// Depth of each tree (steps from root to its deepest leaf).
    pub depths: Vec<u32>,
    /// Every tree's nodes, trees one after another.
    pub nodes: Vec<Node>,
    /// Class distribution of every node (`n_classes` per node, summing to 1).
    pub value: Vec<f32>,
    /// Mean decrease in impurity per feature, normalised to sum to 1.
    pub importances: Vec<f64>,
}

/// One node: 16 bytes in memory, so a step of a walk touches one cache line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// `x <= threshold` goes to `child`, otherwise to `child + 1`; +inf at a leaf.
    pub threshold: f64,
    /// Left child, or the node's own index at a leaf.
    pub child: u32,
    pub feature: u8,
}

/// A forest whose arrays do not fit together (only possible from foreign bytes).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("inconsistent forest: {0}")]
pub struct LayoutError(pub String);

/// Training input: rows and labels already restricted to the training side.
pub struct TrainingSet<'a> {
    pub rows: &'a [[f64; 4]],
    pub labels: &'a [usize],
    pub n_classes: usize,
}

struct Builder<'a> {
    data: &'a TrainingSet<'a>,
    params: ForestParams,
    rng: Rng,
    forest: Forest,
    importance: Vec<f64>,
}

struct Work {
    node: usize,
    rows: Vec<usize>,
    depth: usize,
}

struct BestSplit {
    feature: usize,
    threshold: f64,
    /// Weighted impurity sum of both children (lower is better).
    children_impurity: f64,
}

fn gini(counts: &[f64], total: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    1.0 - counts
        .iter()
        .map(|c| (c / total) * (c / total))
        .sum::<f64>()
}

impl Forest {
    /// Train on `data` with `params`. Deterministic: same inputs, same forest.
    /// `data` must hold at least one row ([`crate::split`] guarantees two per class).
    pub fn train(data: &TrainingSet<'_>, params: ForestParams) -> Self {
        let n_features = 4;
        let mut builder = Builder {
            data,
            params,
            rng: Rng::new(params.seed, Stream::Forest),
            forest: Forest {
                n_features,
                n_classes: data.n_classes,
                roots: Vec::with_capacity(params.trees),
                depths: Vec::with_capacity(params.trees),
                nodes: Vec::new(),
                value: Vec::new(),
                importances: vec![0.0; n_features],
            },
            importance: vec![0.0; n_features],
        };
        for _ in 0..params.trees {
            builder.tree();
        }
        let mut importances = builder.forest.importances;
        let total: f64 = importances.iter().sum();
        if total > 0.0 {
            importances.iter_mut().for_each(|v| *v /= total);
        }
        builder.forest.importances = importances;
        builder.forest
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Check every index is in bounds, so prediction cannot panic on foreign bytes.
    pub fn validate(&self) -> Result<(), LayoutError> {
        let n = self.nodes.len();
        let fail = |what: &str| Err(LayoutError(what.to_owned()));
        if self.n_classes == 0 || self.n_features != 4 {
            return fail("expected 4 features and at least one class");
        }
        if self.value.len() != n * self.n_classes {
            return fail("class distribution table has the wrong length");
        }
        if self.roots.len() != self.depths.len() || self.roots.is_empty() {
            return fail("roots and depths differ in length, or there are no trees");
        }
        if self.importances.len() != self.n_features {
            return fail("importances do not match the features");
        }
        if self.roots.iter().any(|&r| r as usize >= n) {
            return fail("a root is out of range");
        }
        if self.depths.iter().any(|&d| d as usize >= n) {
            return fail("a tree is deeper than the forest has nodes");
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let child = node.child as usize;
            let leaf = child == i;
            if usize::from(node.feature) >= self.n_features
                || (!leaf && child + 1 >= n)
                || node.threshold.is_nan()
            {
                return fail("a node points outside the forest");
            }
        }
        Ok(())
    }

    /// The leaf node of tree `tree` for `x`.
    pub fn leaf_of(&self, tree: usize, x: &[f64; 4]) -> usize {
        self.leaf(tree, x)
    }

    /// Walk one tree to its leaf for `x`.
    #[inline(always)]
    fn leaf(&self, tree: usize, x: &[f64; 4]) -> usize {
        let mut i = self.roots[tree] as usize;
        for _ in 0..self.depths[tree] {
            let node = &self.nodes[i];
            let go_right = x[usize::from(node.feature) & 3] > node.threshold;
            i = node.child as usize + usize::from(go_right);
        }
        i
    }

    /// Class probabilities for one row into `out` (`n_classes` long).
    pub fn predict_proba_one(&self, x: &[f64; 4], out: &mut [f64]) {
        let nc = self.n_classes;
        out.fill(0.0);
        for tree in 0..self.n_trees() {
            let leaf = self.leaf(tree, x);
            for (o, v) in out.iter_mut().zip(&self.value[leaf * nc..leaf * nc + nc]) {
                *o += f64::from(*v);
            }
        }
        let scale = 1.0 / self.n_trees() as f64;
        out.iter_mut().for_each(|o| *o *= scale);
    }

    /// Class probabilities for many rows into `out` (`rows.len() * n_classes`, row-major).
    /// Iterates tree by tree over chunks of rows so a tree's nodes and the chunk's
    /// accumulators stay in cache, and walks [`LANES`] rows in lockstep so their
    /// independent load chains overlap; allocates nothing.
    pub fn predict_proba_batch(&self, rows: &[[f64; 4]], out: &mut [f64]) {
        const CHUNK: usize = 256;
        let nc = self.n_classes;
        assert_eq!(
            out.len(),
            rows.len() * nc,
            "output buffer must be rows * classes"
        );
        out.fill(0.0);
        let scale = 1.0 / self.n_trees() as f64;
        for (rows, out) in rows.chunks(CHUNK).zip(out.chunks_mut(CHUNK * nc)) {
            for tree in 0..self.n_trees() {
                let lanes = rows.chunks_exact(LANES);
                let rest = lanes.remainder();
                let mut acc = out.chunks_exact_mut(LANES * nc);
                for (xs, acc) in lanes.zip(&mut acc) {
                    let leaves = self.leaves(tree, xs);
                    for (leaf, acc) in leaves.iter().zip(acc.chunks_exact_mut(nc)) {
                        self.add_leaf(*leaf, acc);
                    }
                }
                for (x, acc) in rest.iter().zip(acc.into_remainder().chunks_exact_mut(nc)) {
                    self.add_leaf(self.leaf(tree, x), acc);
                }
            }
            out.iter_mut().for_each(|o| *o *= scale);
        }
    }

    /// Walk one tree for [`LANES`] rows at once.
    #[inline(always)]
    fn leaves(&self, tree: usize, xs: &[[f64; 4]]) -> [usize; LANES] {
        let mut at = [self.roots[tree] as usize; LANES];
        for _ in 0..self.depths[tree] {
            for (i, x) in at.iter_mut().zip(xs) {
                let node = &self.nodes[*i];
                let go_right = x[usize::from(node.feature) & 3] > node.threshold;
                *i = node.child as usize + usize::from(go_right);
            }
        }
        at
    }

    #[inline(always)]
    fn add_leaf(&self, leaf: usize, acc: &mut [f64]) {
        let nc = self.n_classes;
        for (a, v) in acc.iter_mut().zip(&self.value[leaf * nc..leaf * nc + nc]) {
            *a += f64::from(*v);
        }
    }
}

/// Rows walked in lockstep by the batch path.
const LANES: usize = 8;

impl Builder<'_> {
    fn tree(&mut self) {
        let n = self.data.rows.len();
        let mut weight = vec![0.0f64; n];
        for _ in 0..n {
            weight[self.rng.below(n)] += 1.0;
        }
        let root = self.new_node();
        self.forest.roots.push(root as u32);
        let mut depth = 0;
        self.importance.fill(0.0);
        let rows: Vec<usize> = (0..n).filter(|&i| weight[i] > 0.0).collect();
        let mut stack = vec![Work {
            node: root,
            rows,
            depth: 0,
        }];
        while let Some(work) = stack.pop() {
            depth = depth.max(work.depth);
            let mut counts = vec![0.0; self.data.n_classes];
            for &r in &work.rows {
                counts[self.data.labels[r]] += weight[r];
            }
            let total: f64 = counts.iter().sum();
            let nc = self.data.n_classes;
            for (slot, c) in self.forest.value[work.node * nc..(work.node + 1) * nc]
                .iter_mut()
                .zip(&counts)
            {
                *slot = (c / total) as f32;
            }
            let impurity = gini(&counts, total);
            let at_max_depth = self.params.max_depth.is_some_and(|d| work.depth >= d);
            if impurity <= 0.0 || at_max_depth || total < 2.0 {
                continue;
            }
            let Some(best) = self.best_split(&work.rows, &weight, nc) else {
                continue;
            };
            self.importance[best.feature] += total * impurity - best.children_impurity;
            let left = self.new_node();
            let right = self.new_node();
            debug_assert_eq!(right, left + 1);
            self.forest.nodes[work.node] = Node {
                threshold: best.threshold,
                child: left as u32,
                feature: best.feature as u8,
            };
            let (l, r): (Vec<usize>, Vec<usize>) = work
                .rows
                .iter()
                .partition(|&&i| self.data.rows[i][best.feature] <= best.threshold);
            stack.push(Work {
                node: right,
                rows: r,
                depth: work.depth + 1,
            });
            stack.push(Work {
                node: left,
                rows: l,
                depth: work.depth + 1,
            });
        }
        self.forest.depths.push(depth as u32);
        let total: f64 = self.importance.iter().sum();
        if total > 0.0 {
            for (acc, v) in self.forest.importances.iter_mut().zip(&self.importance) {
                *acc += v / total;
            }
        }
    }

    /// A new leaf (self-pointing, infinite threshold); splitting overwrites it.
    fn new_node(&mut self) -> usize {
        let index = self.forest.nodes.len();
        self.forest.nodes.push(Node {
            threshold: f64::INFINITY,
            child: index as u32,
            feature: 0,
        });
        self.forest
            .value
            .extend(std::iter::repeat_n(0.0, self.data.n_classes));
        index
    }

    fn best_split(&mut self, rows: &[usize], weight: &[f64], nc: usize) -> Option<BestSplit> {
        let mut features = [0usize, 1, 2, 3];
        self.rng.shuffle(&mut features);
        let mut best: Option<BestSplit> = None;
        let mut searched = 0;
        let mut sorted = rows.to_vec();
        let mut left = vec![0.0; nc];
        let mut right = vec![0.0; nc];
        for &f in &features {
            if searched >= self.params.max_features && best.is_some() {
                break;
            }
            let x = |i: usize| self.data.rows[i][f];
            sorted.sort_by(|&a, &b| x(a).total_cmp(&x(b)));
            if x(sorted[0]) >= x(sorted[sorted.len() - 1]) {
                continue; // constant here: does not count towards max_features
            }
            searched += 1;
            left.fill(0.0);
            right.fill(0.0);
            for &i in &sorted {
                right[self.data.labels[i]] += weight[i];
            }
            let total: f64 = right.iter().sum();
            let mut left_total = 0.0;
            for pair in sorted.windows(2) {
                let (i, next) = (pair[0], pair[1]);
                let w = weight[i];
                left[self.data.labels[i]] += w;
                right[self.data.labels[i]] -= w;
                left_total += w;
                if x(next) <= x(i) {
                    continue;
                }
                let right_total = total - left_total;
                let score =
                    left_total * gini(&left, left_total) + right_total * gini(&right, right_total);
                if best.as_ref().is_none_or(|b| score < b.children_impurity) {
                    let mut threshold = (x(i) + x(next)) / 2.0;
                    if threshold >= x(next) {
                        threshold = x(i);
                    }
                    best = Some(BestSplit {
                        feature: f,
                        threshold,
                        children_impurity: score,
                    });
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(trees: usize, seed: u64) -> ForestParams {
        ForestParams {
            trees,
            max_depth: None,
            max_features: 2,
            seed,
        }
    }

    /// Two classes separated by petal_length at 2.5; the other features are noise.
    fn separable() -> (Vec<[f64; 4]>, Vec<usize>) {
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            let noise = (i * 7 % 10) as f64 / 10.0;
            let class = i % 2;
            rows.push([
                5.0 + noise,
                3.0 - noise,
                1.0 + 3.0 * class as f64 + noise,
                1.0,
            ]);
            labels.push(class);
        }
        (rows, labels)
    }

    #[test]
    fn probabilities_sum_to_one_and_separate_the_classes() {
        let (rows, labels) = separable();
        let data = TrainingSet {
            rows: &rows,
            labels: &labels,
            n_classes: 2,
        };
        let forest = Forest::train(&data, params(25, 1));
        forest.validate().expect("consistent");
        let mut p = [0.0; 2];
        forest.predict_proba_one(&[5.5, 3.0, 1.2, 1.0], &mut p);
        assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
        assert!(p[0] > 0.9, "{p:?}");
        forest.predict_proba_one(&[5.5, 3.0, 4.5, 1.0], &mut p);
        assert!(p[1] > 0.9, "{p:?}");
        // The constant feature (petal_width) never splits; petal_length matters most.
        assert_eq!(forest.importances[3], 0.0);
        let top = (0..4).max_by(|&a, &b| forest.importances[a].total_cmp(&forest.importances[b]));
        assert_eq!(top, Some(2));
        assert!((forest.importances.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn same_seed_same_forest_other_seed_other_forest() {
        let (rows, labels) = separable();
        let data = TrainingSet {
            rows: &rows,
            labels: &labels,
            n_classes: 2,
        };
        assert_eq!(
            Forest::train(&data, params(10, 5)),
            Forest::train(&data, params(10, 5))
        );
        assert_ne!(
            Forest::train(&data, params(10, 5)),
            Forest::train(&data, params(10, 6))
        );
    }

    #[test]
    fn max_depth_bounds_every_tree() {
        let data = crate::Dataset::builtin().expect("builtin");
        let set = TrainingSet {
            rows: &data.rows,
            labels: &data.labels,
            n_classes: 3,
        };
        let forest = Forest::train(
            &set,
            ForestParams {
                max_depth: Some(2),
                ..params(20, 3)
            },
        );
        assert!(forest.depths.iter().all(|&d| d <= 2));
        assert!(forest.depths.contains(&2));
        let deep = Forest::train(&set, params(20, 3));
        assert!(deep.depths.iter().any(|&d| d > 2));
    }

    #[test]
    fn batch_equals_one_by_one() {
        let data = crate::Dataset::builtin().expect("builtin");
        let set = TrainingSet {
            rows: &data.rows,
            labels: &data.labels,
            n_classes: 3,
        };
        let forest = Forest::train(&set, params(30, 9));
        let rows: Vec<[f64; 4]> = data.rows.iter().cycle().take(600).copied().collect();
        let mut batch = vec![0.0; rows.len() * 3];
        forest.predict_proba_batch(&rows, &mut batch);
        let mut one = [0.0; 3];
        for (x, expected) in rows.iter().zip(batch.chunks_exact(3)) {
            forest.predict_proba_one(x, &mut one);
            assert_eq!(&one[..], expected);
        }
    }

    #[test]
    fn validate_rejects_out_of_range_indices() {
        let (rows, labels) = separable();
        let data = TrainingSet {
            rows: &rows,
            labels: &labels,
            n_classes: 2,
        };
        let good = Forest::train(&data, params(3, 1));
        let mut bad = good.clone();
        bad.nodes[0].child = u32::MAX - 1;
        assert!(bad.validate().is_err());
        let mut bad = good.clone();
        bad.nodes[0].feature = 9;
        assert!(bad.validate().is_err());
        let mut bad = good.clone();
        bad.depths[0] = u32::MAX;
        assert!(bad.validate().is_err());
        let mut bad = good;
        bad.value.pop();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn sqrt_of_four_features_is_two() {
        assert_eq!(default_max_features(4), 2);
        assert_eq!(default_max_features(1), 1);
    }
}
