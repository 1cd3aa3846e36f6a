//! One flower's four measurements, validated. Owns the input rules every prediction path
//! shares (CLI, Lambda): finite, strictly positive, at most [`MAX_CM`]. It must not know
//! about the model; "is this plausibly an Iris" is the model's question, not this one.

use crate::FEATURES;

/// The largest measurement accepted, in cm. No flower part of any Iris comes near it;
/// the bound exists to reject unit mistakes (mm, inches*100) and garbage, not to judge.
pub const MAX_CM: f64 = 100.0;

/// A validated feature vector in [`FEATURES`] order (cm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features([f64; 4]);

/// Why a measurement was rejected; names the feature, the value and the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    #[error("{feature} = {value}: must be a finite number (cm)")]
    NotFinite { feature: &'static str, value: f64 },
    #[error("{feature} = {value}: must be greater than 0 cm")]
    NotPositive { feature: &'static str, value: f64 },
    #[error("{feature} = {value}: must be at most {MAX_CM} cm")]
    TooLarge { feature: &'static str, value: f64 },
    #[error("{feature} is missing")]
    Missing { feature: &'static str },
    #[error("unknown feature {name:?}; expected one of {FEATURES:?}")]
    Unknown { name: String },
}

impl FeatureError {
    /// The feature the error is about (for an unknown name: the name given, if it is
    /// one of ours, otherwise `"unknown"`).
    pub fn feature(&self) -> &'static str {
        match self {
            Self::NotFinite { feature, .. }
            | Self::NotPositive { feature, .. }
            | Self::TooLarge { feature, .. }
            | Self::Missing { feature } => feature,
            Self::Unknown { .. } => "unknown",
        }
    }
}

impl Features {
    /// Validate four measurements given in [`FEATURES`] order.
    pub fn new(values: [f64; 4]) -> Result<Self, FeatureError> {
        for (feature, &value) in FEATURES.iter().zip(&values) {
            check(feature, value)?;
        }
        Ok(Self(values))
    }

    /// Validate measurements given by name (any order). Every feature must appear once.
    pub fn from_named<'a>(
        pairs: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Self, FeatureError> {
        let mut values = [None; 4];
        for (name, value) in pairs {
            let index =
                FEATURES
                    .iter()
                    .position(|f| *f == name)
                    .ok_or_else(|| FeatureError::Unknown {
                        name: name.to_owned(),
                    })?;
            values[index] = Some(value);
        }
        let mut out = [0.0; 4];
        for (i, value) in values.iter().enumerate() {
            out[i] = value.ok_or(FeatureError::Missing {
                feature: FEATURES[i],
            })?;
        }
        Self::new(out)
    }

    /// The measurements in [`FEATURES`] order.
    pub fn values(&self) -> &[f64; 4] {
        &self.0
    }
}

fn check(feature: &'static str, value: f64) -> Result<(), FeatureError> {
    if !value.is_finite() {
        Err(FeatureError::NotFinite { feature, value })
    } else if value <= 0.0 {
        Err(FeatureError::NotPositive { feature, value })
    } else if value > MAX_CM {
        Err(FeatureError::TooLarge { feature, value })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_real_flower() {
        let f = Features::new([5.1, 3.5, 1.4, 0.2]).expect("valid");
        assert_eq!(f.values(), &[5.1, 3.5, 1.4, 0.2]);
    }

    #[test]
    fn rejects_each_rule_and_names_the_feature() {
        let cases = [
            ([f64::NAN, 3.5, 1.4, 0.2], "sepal_length", "finite"),
            ([5.1, f64::INFINITY, 1.4, 0.2], "sepal_width", "finite"),
            ([5.1, 3.5, f64::NEG_INFINITY, 0.2], "petal_length", "finite"),
            ([5.1, 3.5, 1.4, -0.2], "petal_width", "greater than 0"),
            ([0.0, 3.5, 1.4, 0.2], "sepal_length", "greater than 0"),
            ([5.1, 3.5, 100.5, 0.2], "petal_length", "at most 100"),
        ];
        for (values, feature, rule) in cases {
            let err = Features::new(values).expect_err("must be rejected");
            assert_eq!(err.feature(), feature);
            let text = err.to_string();
            assert!(text.contains(feature) && text.contains(rule), "{text}");
        }
    }

    #[test]
    fn hundred_cm_is_the_inclusive_limit() {
        assert!(Features::new([100.0, 100.0, 100.0, 100.0]).is_ok());
    }

    #[test]
    fn from_named_takes_any_order_and_rejects_gaps_and_strangers() {
        let f = Features::from_named([
            ("petal_width", 0.2),
            ("sepal_length", 5.1),
            ("petal_length", 1.4),
            ("sepal_width", 3.5),
        ])
        .expect("valid");
        assert_eq!(f.values(), &[5.1, 3.5, 1.4, 0.2]);
        let missing = Features::from_named([("sepal_length", 5.1)]).expect_err("gap");
        assert_eq!(missing.feature(), "sepal_width");
        let unknown = Features::from_named([("stem", 1.0)]).expect_err("stranger");
        assert!(unknown.to_string().contains("stem"));
    }
}
