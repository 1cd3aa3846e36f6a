//! The golden set: the held-out rows with the answers the model gave them at training
//! time, stored in the manifest (so under its checksum). Any copy of the model, wherever
//! it runs, must answer them exactly as recorded: `iris-model evaluate` checks the file,
//! a smoke test or a canary replays it against a deployed API ([`GoldenRow::compare`]).
//! Owns recording and comparing; must not train.
//!
//! The comparison rule is exact, with no tolerance: the species must be equal and every
//! class's probability must be the same `f64` as recorded, which is the same as saying its
//! shortest decimal rendering (what serde_json writes, in manifest.json and in the API's
//! JSON) is the same text. Exactness is sound because a prediction is a deterministic
//! computation over the model's bytes (the same leaf values summed in tree order, one
//! multiply, no fused or reordered float operations in Rust), serde_json writes the
//! shortest decimal that reads back to the same bits, and this crate enables
//! `float_roundtrip` so reading it back is exact. A tolerance would only hide a different
//! model or a different build of the forest, which is what the set exists to catch.

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

impl GoldenRow {
    /// Compares an answer obtained elsewhere (a deployed API's `species` and
    /// `probabilities` for [`GoldenRow::features`]) with the record, by the module's exact
    /// rule. The error names the first difference.
    pub fn compare(
        &self,
        species: &str,
        probabilities: &BTreeMap<String, f64>,
    ) -> Result<(), String> {
        if species != self.species {
            return Err(format!(
                "{:?}: species {species:?}, recorded {:?}",
                self.features, self.species
            ));
        }
        for (class, recorded) in &self.probabilities {
            match probabilities.get(class) {
                Some(p) if p.to_bits() == recorded.to_bits() => {}
                Some(p) => {
                    return Err(format!(
                        "{:?}: probability of {class} {p}, recorded {recorded}",
                        self.features
                    ));
                }
                None => {
                    return Err(format!(
                        "{:?}: no probability for {class} (recorded {recorded})",
                        self.features
                    ));
                }
            }
        }
        if let Some(extra) = probabilities
            .keys()
            .find(|c| !self.probabilities.contains_key(*c))
        {
            return Err(format!(
                "{:?}: a probability for {extra}, a class the record does not have",
                self.features
            ));
        }
        Ok(())
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
    fn compare_accepts_the_recorded_rendering_and_refuses_any_difference() {
        let data = Dataset::builtin().expect("builtin");
        let t = train(
            &data,
            &TrainOptions {
                trees: 7,
                ..TrainOptions::default()
            },
        )
        .expect("train");
        let row = &t.manifest.golden[0];
        // What an API's JSON answer parses back to: the shortest decimal rendering.
        let text = serde_json::to_string(&row.probabilities).expect("json");
        let parsed: BTreeMap<String, f64> = serde_json::from_str(&text).expect("parse");
        assert_eq!(row.compare(&row.species, &parsed), Ok(()));

        let other = if row.species == "setosa" {
            "virginica"
        } else {
            "setosa"
        };
        let err = row.compare(other, &parsed).expect_err("species");
        assert!(err.contains("species"), "{err}");

        let mut nudged = parsed.clone();
        if let Some(p) = nudged.values_mut().next() {
            *p = f64::from_bits(p.to_bits() ^ 1);
        }
        let err = row.compare(&row.species, &nudged).expect_err("one ulp");
        assert!(err.contains("probability of"), "{err}");

        let mut missing = parsed.clone();
        missing.pop_first();
        assert!(row.compare(&row.species, &missing).is_err());
        let mut extra = parsed;
        extra.insert("rose".into(), 0.0);
        let err = row.compare(&row.species, &extra).expect_err("extra class");
        assert!(err.contains("rose"), "{err}");
    }

    #[test]
    fn batch_and_single_predictions_give_the_recorded_bits() {
        // The smoke test may replay the set through the batch route: its lane path must
        // answer exactly as the single-row path that recorded it.
        let data = Dataset::builtin().expect("builtin");
        let t = train(&data, &TrainOptions::default()).expect("train");
        let golden = &t.manifest.golden;
        let batch: Vec<Features> = golden
            .iter()
            .map(|g| Features::new(g.features).expect("features"))
            .collect();
        for (row, p) in golden.iter().zip(t.model.predict_batch(&batch)) {
            let probabilities: BTreeMap<String, f64> = p.probabilities.into_iter().collect();
            assert_eq!(row.compare(&p.species, &probabilities), Ok(()));
        }
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
