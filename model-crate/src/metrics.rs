//! Held-out evaluation: accuracy, per-class precision/recall/F1 and the confusion matrix,
//! plus their text table. Owns only arithmetic over labels; it must not predict.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows of this class in the evaluated set.
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub accuracy: f64,
    /// Rows evaluated.
    pub rows: usize,
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[actual][predicted]`, in class order.
    pub confusion: Vec<Vec<usize>>,
}

/// A ratio that is 0 when nothing was counted (scikit-learn's `zero_division=0`).
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl Metrics {
    /// Compare `actual` with `predicted` class indices.
    pub fn compute(classes: &[String], actual: &[usize], predicted: &[usize]) -> Self {
        assert_eq!(actual.len(), predicted.len(), "one prediction per row");
        let n = classes.len();
        let mut confusion = vec![vec![0; n]; n];
        for (&a, &p) in actual.iter().zip(predicted) {
            confusion[a][p] += 1;
        }
        let correct: usize = (0..n).map(|c| confusion[c][c]).sum();
        let per_class = classes
            .iter()
            .enumerate()
            .map(|(c, class)| {
                let tp = confusion[c][c];
                let support: usize = confusion[c].iter().sum();
                let predicted_c: usize = confusion.iter().map(|row| row[c]).sum();
                let precision = ratio(tp, predicted_c);
                let recall = ratio(tp, support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassMetrics {
                    class: class.clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        Self {
            accuracy: ratio(correct, actual.len()),
            rows: actual.len(),
            per_class,
            confusion,
        }
    }

    /// The metrics and the confusion matrix as aligned text.
    pub fn table(&self) -> String {
        let width = self
            .per_class
            .iter()
            .map(|c| c.class.len())
            .max()
            .unwrap_or(0)
            .max("predicted ->".len());
        let mut s = String::new();
        let _ = writeln!(s, "accuracy: {:.4} ({} rows)", self.accuracy, self.rows);
        let _ = writeln!(s);
        let _ = writeln!(s, "{:<width$}  precision  recall     f1  support", "class");
        for c in &self.per_class {
            let _ = writeln!(
                s,
                "{:<width$}  {:>9.3}  {:>6.3}  {:>5.3}  {:>7}",
                c.class, c.precision, c.recall, c.f1, c.support
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "confusion matrix (rows: actual, columns: predicted)");
        let col = self
            .per_class
            .iter()
            .map(|c| c.class.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let _ = write!(s, "{:<width$}", "");
        for c in &self.per_class {
            let _ = write!(s, "  {:>col$}", c.class);
        }
        let _ = writeln!(s);
        for (c, row) in self.per_class.iter().zip(&self.confusion) {
            let _ = write!(s, "{:<width$}", c.class);
            for n in row {
                let _ = write!(s, "  {n:>col$}");
            }
            let _ = writeln!(s);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn counts_precision_recall_f1_by_hand() {
        // actual a,a,a,b,b,c ; predicted a,a,b,b,c,c
        let m = Metrics::compute(&classes(), &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(
            m.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        let a = &m.per_class[0];
        assert_eq!((a.precision, a.recall, a.support), (1.0, 2.0 / 3.0, 3));
        assert!((a.f1 - 0.8).abs() < 1e-12);
        let b = &m.per_class[1];
        assert_eq!((b.precision, b.recall), (0.5, 0.5));
        let c = &m.per_class[2];
        assert_eq!((c.precision, c.recall), (0.5, 1.0));
    }

    #[test]
    fn a_class_never_predicted_has_zero_precision_not_nan() {
        let m = Metrics::compute(&classes(), &[0, 1, 2], &[0, 0, 0]);
        assert_eq!(m.per_class[1].precision, 0.0);
        assert_eq!(m.per_class[1].f1, 0.0);
        assert!(m.per_class.iter().all(|c| c.f1.is_finite()));
    }

    #[test]
    fn table_shows_every_class_and_the_matrix() {
        let m = Metrics::compute(&classes(), &[0, 1, 2], &[0, 1, 1]);
        let t = m.table();
        assert!(t.contains("accuracy: 0.6667 (3 rows)"), "{t}");
        assert!(t.contains("confusion matrix"), "{t}");
        let last = t.lines().last().expect("matrix row");
        assert_eq!(
            last.split_whitespace().collect::<Vec<_>>(),
            ["c", "0", "1", "0"]
        );
    }
}
