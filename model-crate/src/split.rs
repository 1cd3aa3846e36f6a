//! The stratified train/test split: each class keeps the same share of rows on both sides.
//! Owns the "too few rows per class" rule; it must not look at feature values.

use crate::dataset::Dataset;
use crate::rng::{Rng, Stream};

/// Each class needs at least this many training rows (a tree needs two to split).
pub const MIN_TRAIN_PER_CLASS: usize = 2;

/// Row indices into the data set. Both lists are class by class, shuffled within a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplitError {
    #[error("--test-fraction {0} must be greater than 0 and less than 1")]
    Fraction(f64),
    #[error(
        "{file}: class {class:?} has {found} rows; with --test-fraction {fraction} it needs \
         at least {needed} (1 or more to test, {MIN_TRAIN_PER_CLASS} or more to train). \
         Add rows of that class or change --test-fraction"
    )]
    TooFewRows {
        file: String,
        class: String,
        found: usize,
        needed: usize,
        fraction: f64,
    },
}

/// How many of `n` rows of a class go to the test side.
fn test_count(n: usize, fraction: f64) -> usize {
    ((n as f64 * fraction).round() as usize).max(1)
}

fn enough(n: usize, fraction: f64) -> bool {
    n >= test_count(n, fraction) + MIN_TRAIN_PER_CLASS
}

/// Split `data` with the seed's split stream.
pub fn stratified(data: &Dataset, fraction: f64, seed: u64) -> Result<Split, SplitError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(SplitError::Fraction(fraction));
    }
    let counts = data.class_counts();
    for (class, &found) in data.classes.iter().zip(&counts) {
        if !enough(found, fraction) {
            let needed = (1..).find(|&n| enough(n, fraction)).unwrap_or(usize::MAX);
            return Err(SplitError::TooFewRows {
                file: data.source.clone(),
                class: class.clone(),
                found,
                needed,
                fraction,
            });
        }
    }
    let mut rng = Rng::new(seed, Stream::Split);
    let mut split = Split {
        train: Vec::new(),
        test: Vec::new(),
    };
    for (class, &n) in counts.iter().enumerate() {
        let mut rows: Vec<usize> = (0..data.labels.len())
            .filter(|&i| data.labels[i] == class)
            .collect();
        rng.shuffle(&mut rows);
        let (test, train) = rows.split_at(test_count(n, fraction));
        split.test.extend_from_slice(test);
        split.train.extend_from_slice(train);
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(per_class: [usize; 3]) -> Dataset {
        let mut d = Dataset {
            source: "f.csv".into(),
            sha256: String::new(),
            classes: crate::SPECIES.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
            labels: Vec::new(),
        };
        for (class, &n) in per_class.iter().enumerate() {
            for i in 0..n {
                d.rows.push([1.0 + i as f64, 1.0, 1.0, 1.0]);
                d.labels.push(class);
            }
        }
        d
    }

    #[test]
    fn keeps_class_proportions_and_uses_every_row_once() {
        let d = Dataset::builtin().expect("builtin");
        let s = stratified(&d, 0.2, 42).expect("split");
        assert_eq!((s.train.len(), s.test.len()), (120, 30));
        for class in 0..3 {
            assert_eq!(s.test.iter().filter(|&&i| d.labels[i] == class).count(), 10);
        }
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..150).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_split_other_seed_other_split() {
        let d = Dataset::builtin().expect("builtin");
        assert_eq!(stratified(&d, 0.2, 1), stratified(&d, 0.2, 1));
        assert_ne!(stratified(&d, 0.2, 1), stratified(&d, 0.2, 2));
    }

    #[test]
    fn too_few_rows_names_the_class_and_what_is_needed() {
        let err = stratified(&data([5, 2, 5]), 0.2, 1).expect_err("versicolor too small");
        let text = err.to_string();
        assert!(
            text.contains("f.csv: class \"versicolor\" has 2 rows"),
            "{text}"
        );
        assert!(text.contains("at least 3"), "{text}");
        let err = stratified(&data([5, 5, 0]), 0.2, 1).expect_err("no virginica");
        assert!(err.to_string().contains("\"virginica\" has 0 rows"));
        assert!(stratified(&data([3, 3, 3]), 0.2, 1).is_ok());
    }

    #[test]
    fn rejects_fractions_outside_zero_one() {
        let d = data([10, 10, 10]);
        for f in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert!(matches!(stratified(&d, f, 1), Err(SplitError::Fraction(_))));
        }
    }
}
