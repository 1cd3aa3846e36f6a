//! The trained model as the Lambda and the CLI use it: the forest plus everything needed
//! to answer without the manifest (classes, feature names, training ranges, the is_iris
//! rule), and its exact bytes. Owns encoding, checksum verification and the shape of a
//! [`Prediction`]; it must not read files (see [`crate::artifact`]).

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::FEATURES;
use crate::cells::BatchScorer;
use crate::compiled::Compiled;
use crate::dataset::sha256_hex;
use crate::features::Features;
use crate::forest::{Forest, LayoutError};

/// Version of the model.bin encoding; bumped on any incompatible change.
pub const MODEL_FORMAT: u32 = 1;

/// How far outside the training range a measurement may fall, as a fraction of that
/// range on each side, and still count as an Iris. 50 flowers per species sample only
/// about ±2.3 standard deviations of each measurement, so real flowers do fall a little
/// outside; 20% of the full span (which covers all three species) is roughly one more
/// within-species standard deviation for the petal measurements, and it still rejects
/// unit mistakes (mm instead of cm) and other plants' sizes.
pub const RANGE_MARGIN: f64 = 0.20;

/// The lowest top-class probability still called an Iris. A real flower between two
/// species splits the trees' votes between those two, so its top probability stays at
/// or above 0.5; when all three species get a large share, the measurements contradict
/// each other (e.g. setosa petals with virginica sepals) and the answer is "not one of
/// the flowers this model knows".
pub const MIN_TOP_PROBABILITY: f64 = 0.50;

/// The parameters of the `is_iris` answer, stored in the model so every consumer agrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IsIrisRule {
    pub range_margin: f64,
    pub min_top_probability: f64,
}

impl Default for IsIrisRule {
    fn default() -> Self {
        Self {
            range_margin: RANGE_MARGIN,
            min_top_probability: MIN_TOP_PROBABILITY,
        }
    }
}

/// What model.bin holds (postcard-encoded; deterministic for the same content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelData {
    pub format: u32,
    pub classes: Vec<String>,
    pub features: Vec<String>,
    /// Training (min, max) per feature, in [`FEATURES`] order.
    pub ranges: Vec<(f64, f64)>,
    pub is_iris: IsIrisRule,
    pub forest: Forest,
}

/// A loaded, verified model.
#[derive(Debug, Clone)]
pub struct Model {
    data: ModelData,
    sha256: String,
    /// The prediction layout derived from `data.forest` (not part of the bytes).
    compiled: Compiled,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "model checksum mismatch: expected sha256 {expected}, got {actual} (corrupted, truncated or a different model)"
    )]
    ChecksumMismatch { expected: String, actual: String },
    #[error("cannot decode the model: {0}")]
    Decode(String),
    #[error("model format {found} is not supported (this build reads format {MODEL_FORMAT})")]
    Format { found: u32 },
    #[error("model is inconsistent: {0}")]
    Layout(#[from] LayoutError),
    #[error("cannot encode the model: {0}")]
    Encode(String),
}

/// One answer: the species, every class's probability (class order) and `is_iris`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub species: String,
    pub probabilities: Vec<(String, f64)>,
    pub is_iris: bool,
}

impl Prediction {
    /// `{"setosa": 0.98, ...}` in class order.
    pub fn probabilities_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.probabilities
            .iter()
            .map(|(c, p)| (c.clone(), serde_json::Value::from(*p)))
            .collect()
    }

    /// The highest probability.
    pub fn confidence(&self) -> f64 {
        self.probabilities
            .iter()
            .map(|(_, p)| *p)
            .fold(0.0, f64::max)
    }
}

struct ClassOrder<'a>(&'a [(String, f64)]);

impl Serialize for ClassOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (class, p) in self.0 {
            map.serialize_entry(class, p)?;
        }
        map.end()
    }
}

/// `{"species":"setosa","probabilities":{"setosa":1.0,...},"is_iris":true}`.
impl Serialize for Prediction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("species", &self.species)?;
        map.serialize_entry("probabilities", &ClassOrder(&self.probabilities))?;
        map.serialize_entry("is_iris", &self.is_iris)?;
        map.end()
    }
}

impl Model {
    /// Wrap freshly trained data (computes the sha256 of its encoding).
    pub fn new(data: ModelData) -> Result<Self, ModelError> {
        data.forest.validate()?;
        let bytes = encode(&data)?;
        Ok(Self {
            compiled: Compiled::new(&data.forest),
            data,
            sha256: sha256_hex(&bytes),
        })
    }

    /// Verify `sha256(bytes) == expected_sha256_hex` first, then decode and check the
    /// layout, so corrupted bytes never reach the decoder.
    pub fn from_bytes(bytes: &[u8], expected_sha256_hex: &str) -> Result<Self, ModelError> {
        let actual = sha256_hex(bytes);
        if !actual.eq_ignore_ascii_case(expected_sha256_hex) {
            return Err(ModelError::ChecksumMismatch {
                expected: expected_sha256_hex.to_owned(),
                actual,
            });
        }
        let (data, rest): (ModelData, _) =
            postcard::take_from_bytes(bytes).map_err(|e| ModelError::Decode(e.to_string()))?;
        if !rest.is_empty() {
            return Err(ModelError::Decode(format!("{} trailing bytes", rest.len())));
        }
        if data.format != MODEL_FORMAT {
            return Err(ModelError::Format { found: data.format });
        }
        data.forest.validate()?;
        if data.classes.len() != data.forest.n_classes
            || data.ranges.len() != FEATURES.len()
            || data.features.len() != FEATURES.len()
        {
            return Err(
                LayoutError("classes, features or ranges do not match the forest".into()).into(),
            );
        }
        Ok(Self {
            compiled: Compiled::new(&data.forest),
            data,
            sha256: actual,
        })
    }

    /// The exact bytes of model.bin.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        encode(&self.data)
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn classes(&self) -> &[String] {
        &self.data.classes
    }

    pub fn data(&self) -> &ModelData {
        &self.data
    }

    pub fn forest(&self) -> &Forest {
        &self.data.forest
    }

    pub fn predict(&self, features: &Features) -> Prediction {
        let mut proba = vec![0.0; self.data.classes.len()];
        self.compiled.predict_one(features.values(), &mut proba);
        self.prediction(features, &proba)
    }

    pub fn predict_batch(&self, batch: &[Features]) -> Vec<Prediction> {
        let nc = self.data.classes.len();
        let rows: Vec<[f64; 4]> = batch.iter().map(|f| *f.values()).collect();
        let mut proba = vec![0.0; rows.len() * nc];
        self.compiled.predict_batch(&rows, &mut proba);
        batch
            .iter()
            .zip(proba.chunks_exact(nc))
            .map(|(f, p)| self.prediction(f, p))
            .collect()
    }

    /// The allocation-free fast path: probabilities for `rows` into `out`
    /// (`rows.len() * classes().len()`, row-major). Rows must already be validated.
    pub fn predict_proba_into(&self, rows: &[[f64; 4]], out: &mut [f64]) {
        self.compiled.predict_batch(rows, out);
    }

    /// A scorer for one batch of many rows: the same probabilities as
    /// [`Self::predict_proba_into`], evaluating the forest once per cell of its
    /// thresholds' grid rather than once per row ([`crate::cells`]).
    pub fn batch_scorer(&self) -> BatchScorer<'_> {
        BatchScorer::new(&self.compiled, &self.data.forest)
    }

    /// Whether every measurement lies within the training range widened by the margin.
    pub fn in_range(&self, features: &Features) -> bool {
        let margin = self.data.is_iris.range_margin;
        features
            .values()
            .iter()
            .zip(&self.data.ranges)
            .all(|(&x, &(lo, hi))| {
                let pad = (hi - lo) * margin;
                x >= lo - pad && x <= hi + pad
            })
    }

    fn prediction(&self, features: &Features, proba: &[f64]) -> Prediction {
        let mut top = 0;
        for (i, p) in proba.iter().enumerate() {
            if *p > proba[top] {
                top = i;
            }
        }
        Prediction {
            species: self.data.classes[top].clone(),
            probabilities: self
                .data
                .classes
                .iter()
                .cloned()
                .zip(proba.iter().copied())
                .collect(),
            is_iris: proba[top] >= self.data.is_iris.min_top_probability && self.in_range(features),
        }
    }
}

fn encode(data: &ModelData) -> Result<Vec<u8>, ModelError> {
    postcard::to_allocvec(data).map_err(|e| ModelError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;
    use crate::train::{TrainOptions, train};

    fn trained() -> (Model, Vec<u8>) {
        let data = Dataset::builtin().expect("builtin");
        let t = train(
            &data,
            &TrainOptions {
                trees: 30,
                ..TrainOptions::default()
            },
        )
        .expect("train");
        (t.model, t.bytes)
    }

    #[test]
    fn round_trips_and_predicts_the_classic_flowers() {
        let (model, bytes) = trained();
        let loaded = Model::from_bytes(&bytes, model.sha256()).expect("valid bytes");
        for (values, species) in [
            ([5.1, 3.5, 1.4, 0.2], "setosa"),
            ([6.4, 3.2, 4.5, 1.5], "versicolor"),
            ([6.3, 3.3, 6.0, 2.5], "virginica"),
        ] {
            let p = loaded.predict(&Features::new(values).expect("valid"));
            assert_eq!(p.species, species);
            assert!(p.is_iris, "{values:?}");
            let sum: f64 = p.probabilities.iter().map(|(_, p)| p).sum();
            assert!((sum - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn a_flipped_byte_or_truncation_is_a_checksum_mismatch() {
        let (model, bytes) = trained();
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x01;
        let truncated = &bytes[..bytes.len() - 1];
        for bad in [&flipped[..], truncated, &[][..]] {
            let err = Model::from_bytes(bad, model.sha256()).expect_err("corrupt");
            assert!(matches!(err, ModelError::ChecksumMismatch { .. }), "{err}");
            assert!(err.to_string().contains(model.sha256()));
        }
    }

    #[test]
    fn undecodable_bytes_with_a_matching_checksum_are_a_decode_error() {
        let junk = b"not a model at all";
        let err = Model::from_bytes(junk, &sha256_hex(junk)).expect_err("junk");
        assert!(
            matches!(err, ModelError::Decode(_) | ModelError::Format { .. }),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_or_contradictory_flowers_are_not_iris() {
        let (model, _) = trained();
        let far = Features::new([5.1, 3.5, 1.4, 40.0]).expect("valid input");
        let p = model.predict(&far);
        assert!(!p.is_iris);
        let (lo, hi) = model.data().ranges[0];
        let pad = (hi - lo) * RANGE_MARGIN;
        let just_inside = Features::new([hi + pad * 0.99, 3.0, 5.0, 1.8]).expect("valid");
        let just_outside = Features::new([hi + pad * 1.01, 3.0, 5.0, 1.8]).expect("valid");
        assert!(model.in_range(&just_inside));
        assert!(!model.in_range(&just_outside));
        assert!(!model.predict(&just_outside).is_iris);
    }

    #[test]
    fn batch_matches_single_predictions() {
        let (model, _) = trained();
        let data = Dataset::builtin().expect("builtin");
        let batch: Vec<Features> = data
            .rows
            .iter()
            .map(|r| Features::new(*r).expect("valid"))
            .collect();
        let many = model.predict_batch(&batch);
        for (f, p) in batch.iter().zip(&many) {
            assert_eq!(&model.predict(f), p);
        }
    }

    #[test]
    fn serializes_probabilities_as_a_map_in_class_order() {
        let p = Prediction {
            species: "setosa".into(),
            probabilities: vec![
                ("setosa".into(), 0.9),
                ("versicolor".into(), 0.1),
                ("virginica".into(), 0.0),
            ],
            is_iris: true,
        };
        let json = serde_json::to_string(&p).expect("serializes");
        assert_eq!(
            json,
            r#"{"species":"setosa","probabilities":{"setosa":0.9,"versicolor":0.1,"virginica":0.0},"is_iris":true}"#
        );
        assert_eq!(p.probabilities_map()["versicolor"], 0.1);
    }
}
