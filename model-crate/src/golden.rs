//! The golden set: the held-out rows with the answers the model gave them at training
//! time, stored in the manifest (so under its checksum). Any copy of the model, wherever
//! it runs, must answer them exactly as recorded: `iris-model evaluate` checks the file,
//! a smoke test checks a deployed function. Owns recording and comparing; must not train.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::features::Features;
use crate::model::Model;

/// One held-out row and the model's recorded answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldenRow {
    /// The measurements in [`crate::FEATURES`] order (cm).
    pub features: [f64; 4],
    /// The species the data set names for the row (the model may disagree).
    pub label: String,
    /// The species the model answered.
    pub species: String,
    /// The model's probability per class; compared bit for bit.
    pub probabilities: BTreeMap<String, f64>,
    pub is_iris: bool,
}

/// A golden row the model no longer answers as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldenMismatch {
    /// Index into the golden set.
    pub row: usize,
    pub expected: GoldenRow,
    /// The answer now, in the same shape.
    pub actual: GoldenRow,
}

impl std::fmt::Display for GoldenMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "golden row {} {:?}: recorded {} {:?}, the model answers {} {:?}",
            self.row,
            self.expected.features,
            self.expected.species,
            self.expected.probabilities,
            self.actual.species,
            self.actual.probabilities
        )
    }
}

/// The model's answer for `features`, labelled `label`.
fn answer(model: &Model, values: [f64; 4], label: &str) -> Option<GoldenRow> {
    let features = Features::new(values).ok()?;
    let p = model.predict(&features);
    Some(GoldenRow {
        features: values,
        label: label.to_owned(),
        species: p.species,
        probabilities: p.probabilities.into_iter().collect(),
        is_iris: p.is_iris,
    })
}

/// Record the model's answers for `rows` of `data` (the held-out side of the split).
/// Rows the model cannot take as features are left out (the loader already refuses them).
pub fn record(model: &Model, data: &Dataset, rows: &[usize]) -> Vec<GoldenRow> {
    rows.iter()
        .filter_map(|&i| answer(model, data.rows[i], &data.classes[data.labels[i]]))
        .collect()
}

/// Every golden row the model answers differently (species, is_iris, or any probability's
/// bits). Empty means the model is the one that was recorded.
pub fn check(model: &Model, golden: &[GoldenRow]) -> Vec<GoldenMismatch> {
    golden
        .iter()
        .enumerate()
        .filter_map(|(row, expected)| {
            let actual = answer(model, expected.features, &expected.label)?;
            (!same_answer(expected, &actual)).then(|| GoldenMismatch {
                row,
                expected: expected.clone(),
                actual,
            })
        })
        .collect()
}

/// Same species, same is_iris, and the same probability bits for the same classes.
pub fn same_answer(a: &GoldenRow, b: &GoldenRow) -> bool {
    a.species == b.species
        && a.is_iris == b.is_iris
        && a.probabilities.len() == b.probabilities.len()
        && a.probabilities
            .iter()
            .zip(&b.probabilities)
            .all(|((ca, pa), (cb, pb))| ca == cb && pa.to_bits() == pb.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{TrainOptions, train};

    #[test]
    fn the_recorded_model_matches_and_another_model_does_not() {
        let data = Dataset::builtin().expect("builtin");
        let small = TrainOptions {
            trees: 10,
            ..TrainOptions::default()
        };
        let t = train(&data, &small).expect("train");
        let golden = &t.manifest.golden;
        assert_eq!(golden.len(), t.split.test.len());
        assert!(check(&t.model, golden).is_empty());
        let other = train(
            &data,
            &TrainOptions {
                seed: 3,
                trees: 3,
                ..small
            },
        )
        .expect("train");
        let mismatches = check(&other.model, golden);
        assert!(!mismatches.is_empty());
        assert!(mismatches[0].to_string().contains("golden row"));
    }

    #[test]
    fn one_changed_probability_bit_is_a_mismatch() {
        let data = Dataset::builtin().expect("builtin");
        let t = train(
            &data,
            &TrainOptions {
                trees: 5,
                ..TrainOptions::default()
            },
        )
        .expect("train");
        let mut golden = t.manifest.golden.clone();
        if let Some(p) = golden[0].probabilities.values_mut().next() {
            *p = f64::from_bits(p.to_bits() ^ 1);
        }
        let mismatches = check(&t.model, &golden);
        assert_eq!(mismatches.len(), 1);
        assert_eq!(mismatches[0].row, 0);
    }
}
