//! The training data: the shipped Iris CSV (checked against its sha256) or a user's file
//! in the same format. Owns parsing and every "bad input" message about data files; it
//! must not split, shuffle or train.
//!
//! # Provenance of the shipped data
//! `data/iris.csv` is Fisher's Iris data (1936, public domain) in the corrected UCI
//! version that scikit-learn ships: `sklearn/datasets/data/iris.csv` from the wheel
//! `scikit_learn-1.7.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl`
//! (PyPI), with the class indices 0/1/2 replaced by `setosa`/`versicolor`/`virginica`
//! and this crate's header. It differs from the original UCI file, and from the copies
//! bundled in smartcore and linfa, in two rows (0-based data rows 34 and 37, i.e. file
//! lines 36 and 39): row 34 is `4.9,3.1,1.5,0.2` (not `...,0.1`) and row 37 is
//! `4.9,3.6,1.4,0.1` (not `4.9,3.1,1.5,0.1`), as Fisher's paper prints them.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::features::{FeatureError, Features};
use crate::{FEATURES, SPECIES};

/// The shipped data set, compiled in so the binary and the Lambda need no data files.
pub const IRIS_CSV: &str = include_str!("../data/iris.csv");
/// sha256 of [`IRIS_CSV`]; checked every time it is loaded.
pub const IRIS_CSV_SHA256: &str =
    "9cc1c345c71bcc9b486b74cbf6063fa66f4bb5e0f603a4b3c3471ec2e5e8e355";
/// How the shipped data set is named in messages, the manifest and the report.
pub const BUILTIN_NAME: &str = "built-in iris.csv";

/// Labelled measurements, ready to split. `labels[i]` indexes `classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Where the rows came from ([`BUILTIN_NAME`] or the file path), for messages.
    pub source: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
    pub classes: Vec<String>,
    pub rows: Vec<[f64; 4]>,
    pub labels: Vec<usize>,
}

/// A data file that cannot be used, with the file and (where there is one) the line.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: the file is empty; expected the header `{header}` and one row per flower")]
    Empty { file: String, header: String },
    #[error("{file}:1: header is `{found}`; expected `{expected}`")]
    Header {
        file: String,
        found: String,
        expected: String,
    },
    #[error("{file}:{line}: {found} columns; expected {expected} ({header})")]
    Columns {
        file: String,
        line: u64,
        found: usize,
        expected: usize,
        header: String,
    },
    #[error("{file}:{line}: {column} = {value:?} is not a number")]
    NotNumber {
        file: String,
        line: u64,
        column: &'static str,
        value: String,
    },
    #[error("{file}:{line}: {source}")]
    BadValue {
        file: String,
        line: u64,
        #[source]
        source: FeatureError,
    },
    #[error("{file}:{line}: unknown species {species:?}; expected one of {SPECIES:?}")]
    UnknownSpecies {
        file: String,
        line: u64,
        species: String,
    },
    #[error("{file}:{line}: cannot parse CSV: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{file}: sha256 is {actual}, expected {expected}: the shipped data was altered")]
    BuiltinChecksum {
        file: String,
        expected: String,
        actual: String,
    },
}

/// The expected header line.
pub fn header() -> String {
    format!("{},species", FEATURES.join(","))
}

/// The lowercase hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Dataset {
    /// The shipped Iris data, after checking its sha256.
    pub fn builtin() -> Result<Self, DataError> {
        Self::parse_checked(IRIS_CSV.as_bytes(), IRIS_CSV_SHA256, BUILTIN_NAME)
    }

    /// A user's CSV file (header [`header()`], any row order).
    pub fn from_file(path: &Path) -> Result<Self, DataError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| DataError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&bytes, &file)
    }

    /// The shipped data when `path` is `None`, otherwise the user's file.
    pub fn load(path: Option<&PathBuf>) -> Result<Self, DataError> {
        match path {
            Some(path) => Self::from_file(path),
            None => Self::builtin(),
        }
    }

    /// Parse after verifying `bytes` hash to `expected_sha256`.
    pub fn parse_checked(
        bytes: &[u8],
        expected_sha256: &str,
        file: &str,
    ) -> Result<Self, DataError> {
        let actual = sha256_hex(bytes);
        if actual != expected_sha256 {
            return Err(DataError::BuiltinChecksum {
                file: file.to_owned(),
                expected: expected_sha256.to_owned(),
                actual,
            });
        }
        Self::parse(bytes, file)
    }

    /// Parse CSV bytes; `file` names the source in errors.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, DataError> {
        let expected = header();
        let empty = || DataError::Empty {
            file: file.to_owned(),
            header: expected.clone(),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(empty());
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let csv_error = |err: csv::Error| DataError::Csv {
            file: file.to_owned(),
            line: err.position().map_or(0, csv::Position::line),
            message: err.to_string(),
        };
        let found: Vec<String> = reader
            .headers()
            .map_err(csv_error)?
            .iter()
            .map(str::to_owned)
            .collect();
        if found.join(",") != expected {
            return Err(DataError::Header {
                file: file.to_owned(),
                found: found.join(","),
                expected,
            });
        }
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() != FEATURES.len() + 1 {
                return Err(DataError::Columns {
                    file: file.to_owned(),
                    line,
                    found: record.len(),
                    expected: FEATURES.len() + 1,
                    header: expected,
                });
            }
            let mut values = [0.0; 4];
            for (i, column) in FEATURES.iter().enumerate() {
                let text = &record[i];
                values[i] = text.parse().map_err(|_| DataError::NotNumber {
                    file: file.to_owned(),
                    line,
                    column,
                    value: text.to_owned(),
                })?;
            }
            Features::new(values).map_err(|source| DataError::BadValue {
                file: file.to_owned(),
                line,
                source,
            })?;
            let species = &record[4];
            let label = SPECIES.iter().position(|s| *s == species).ok_or_else(|| {
                DataError::UnknownSpecies {
                    file: file.to_owned(),
                    line,
                    species: species.to_owned(),
                }
            })?;
            rows.push(values);
            labels.push(label);
        }
        if rows.is_empty() {
            return Err(empty());
        }
        Ok(Self {
            source: file.to_owned(),
            sha256: sha256_hex(bytes),
            classes: SPECIES.iter().map(|s| (*s).to_owned()).collect(),
            rows,
            labels,
        })
    }

    /// Rows per class, in class order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &label in &self.labels {
            counts[label] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Dataset, DataError> {
        Dataset::parse(text.as_bytes(), "f.csv")
    }

    const HEAD: &str = "sepal_length,sepal_width,petal_length,petal_width,species\n";

    #[test]
    fn builtin_is_fishers_150_flowers_with_the_corrected_rows() {
        let data = Dataset::builtin().expect("shipped data loads");
        assert_eq!(data.rows.len(), 150);
        assert_eq!(data.class_counts(), vec![50, 50, 50]);
        assert_eq!(data.rows[34], [4.9, 3.1, 1.5, 0.2]);
        assert_eq!(data.rows[37], [4.9, 3.6, 1.4, 0.1]);
        assert_eq!(data.sha256, IRIS_CSV_SHA256);
    }

    #[test]
    fn altered_builtin_bytes_fail_the_checksum() {
        let altered = IRIS_CSV.replacen("5.1", "5.2", 1);
        let err = Dataset::parse_checked(altered.as_bytes(), IRIS_CSV_SHA256, BUILTIN_NAME)
            .expect_err("altered");
        assert!(matches!(err, DataError::BuiltinChecksum { .. }), "{err}");
    }

    #[test]
    fn each_bad_input_names_file_and_line() {
        let cases = [
            ("", "f.csv: the file is empty"),
            ("\n\n", "f.csv: the file is empty"),
            (HEAD, "f.csv: the file is empty"),
            ("a,b,c\n1,2,3\n", "f.csv:1: header is `a,b,c`"),
            (
                &format!("{HEAD}5.1,3.5,1.4,setosa\n"),
                "f.csv:2: 4 columns; expected 5",
            ),
            (
                &format!("{HEAD}5.1,3.5,1.4,0.2,0.3,setosa\n"),
                "f.csv:2: 6 columns",
            ),
            (
                &format!("{HEAD}5.1,3.5,1.4,0.2,setosa\n5.1,x,1.4,0.2,setosa\n"),
                "f.csv:3: sepal_width = \"x\" is not a number",
            ),
            (
                &format!("{HEAD}5.1,3.5,NaN,0.2,setosa\n"),
                "f.csv:2: petal_length = NaN: must be a finite",
            ),
            (
                &format!("{HEAD}5.1,3.5,1.4,-1,setosa\n"),
                "f.csv:2: petal_width = -1: must be greater than 0",
            ),
            (
                &format!("{HEAD}5.1,3.5,1.4,0.2,rose\n"),
                "f.csv:2: unknown species \"rose\"",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(expected).to_string();
            assert!(
                err.starts_with(expected),
                "got {err:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn accepts_any_row_order_and_whitespace() {
        let data = parse(&format!(
            "{HEAD}6.3, 3.3, 6.0, 2.5, virginica\n5.1,3.5,1.4,0.2,setosa\n"
        ))
        .expect("valid");
        assert_eq!(data.labels, vec![2, 0]);
        assert_eq!(data.rows[0], [6.3, 3.3, 6.0, 2.5]);
    }
}
