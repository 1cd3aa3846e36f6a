//! A batch file's bytes → numbered rows, each a validated `Features` or the reason it is
//! bad. Owns the two accepted formats (CSV with the training header, JSON lines of
//! flowers), the file-level refusals (not text, wrong header, no rows, over the row
//! limit) and the per-row error codes, which are the API's (`lambda/README.md`). Must not
//! predict, fetch or write.
//!
//! A bad row is data, not a failure: the file still scores. A bad file is a failure: the
//! invocation fails, so Lambda retries it and then sends the event to the dead-letter
//! queue.

use iris_model::{FEATURES, Features};

use crate::input::{self, PredictInput};

/// The two formats a batch file may have, told apart by its content (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

/// Why one row is not scored: the same codes and field names as `POST /predict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
}

/// The rows of a file, in file order; `rows[i]` is row number `i + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub format: Format,
    pub rows: Vec<Result<Features, BadRow>>,
}

/// Why a whole file cannot be processed. The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is not UTF-8 text (byte {offset}); send CSV or JSON lines")]
    NotText { offset: usize },
    #[error("the file has no rows; send CSV with the header {header:?} or JSON lines of flowers")]
    Empty { header: String },
    #[error(
        "the first line is not the CSV header {header:?} (optionally followed by \",species\") nor a JSON object; got {found:?}"
    )]
    WrongHeader { header: String, found: String },
    #[error("the file has more than {limit} rows (batch.max_rows); split it into smaller files")]
    TooManyRows { limit: usize },
    #[error(
        "the file has {size} bytes, over the {limit}-byte limit (batch.max_bytes); split it into smaller files"
    )]
    TooLarge { size: u64, limit: u64 },
}

impl FileError {
    /// A stable code, for the error report and the dead-letter queue's error message.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::NotText { .. } => "not_text",
            FileError::Empty { .. } => "empty_file",
            FileError::WrongHeader { .. } => "wrong_header",
            FileError::TooManyRows { .. } => "too_many_rows",
            FileError::TooLarge { .. } => "file_too_large",
        }
    }
}

/// The CSV header without the label column.
pub fn csv_header() -> String {
    FEATURES.join(",")
}

/// Parses a whole file. `max_rows` bounds the rows (blank lines are not rows).
pub fn parse(bytes: &[u8], max_rows: usize) -> Result<Parsed, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FileError::NotText {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
    let Some(first) = lines.by_ref().find(|l| !l.trim().is_empty()) else {
        return Err(FileError::Empty {
            header: csv_header(),
        });
    };
    let first_trimmed = first.trim();
    let parsed = if first_trimmed.starts_with('{') {
        let rows = collect(std::iter::once(first).chain(lines), max_rows, json_line)?;
        Parsed {
            format: Format::JsonLines,
            rows,
        }
    } else {
        let header = csv_header();
        let columns = if first_trimmed == header {
            4
        } else if first_trimmed == format!("{header},species") {
            5
        } else {
            return Err(FileError::WrongHeader {
                header,
                found: crate::error::clip(first_trimmed),
            });
        };
        let rows = collect(lines, max_rows, |line| csv_row(line, columns))?;
        Parsed {
            format: Format::Csv,
            rows,
        }
    };
    if parsed.rows.is_empty() {
        return Err(FileError::Empty {
            header: csv_header(),
        });
    }
    Ok(parsed)
}

fn collect<'a>(
    lines: impl Iterator<Item = &'a str>,
    max_rows: usize,
    row: impl Fn(&str) -> Result<Features, BadRow>,
) -> Result<Vec<Result<Features, BadRow>>, FileError> {
    let mut rows = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if rows.len() == max_rows {
            return Err(FileError::TooManyRows { limit: max_rows });
        }
        rows.push(row(line));
    }
    Ok(rows)
}

/// One CSV data line with `columns` fields: the four measurements, then (when the header
/// has it) a label, which is ignored.
fn csv_row(line: &str, columns: usize) -> Result<Features, BadRow> {
    let mut values = [0.0_f64; 4];
    let mut fields = line.split(',');
    for (slot, name) in values.iter_mut().zip(FEATURES) {
        let raw = fields.next().map(str::trim).unwrap_or("");
        if raw.is_empty() {
            return Err(BadRow {
                code: "missing_field",
                field: Some(name.to_owned()),
                message: format!("{name} is empty or missing (a number in cm)"),
            });
        }
        *slot = raw.parse::<f64>().map_err(|_| BadRow {
            code: "wrong_type",
            field: Some(name.to_owned()),
            message: format!(
                "{name} must be a number in cm, got {:?}",
                crate::error::clip(raw)
            ),
        })?;
    }
    let extra = fields.count();
    if 4 + extra != columns {
        return Err(BadRow {
            code: "wrong_field_count",
            field: None,
            message: format!("the row has {} fields; the header has {columns}", 4 + extra),
        });
    }
    Features::new(values).map_err(|err| BadRow {
        code: "invalid_value",
        field: Some(err.feature().to_owned()),
        message: err.to_string(),
    })
}

/// One JSON line: one flower, exactly as `POST /predict` takes it.
fn json_line(line: &str) -> Result<Features, BadRow> {
    match input::parse(line.as_bytes(), 1) {
        Ok(PredictInput::Single(features)) => Ok(features),
        Ok(PredictInput::Batch(_)) => Err(BadRow {
            code: "invalid_body",
            field: Some("instances".into()),
            message: "a line holds one flower, not {\"instances\":[..]}".into(),
        }),
        Err(err) => Err(BadRow {
            code: err.code,
            field: err.field,
            message: err.message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "sepal_length,sepal_width,petal_length,petal_width";

    fn rows(text: &str) -> Vec<Result<Features, BadRow>> {
        parse(text.as_bytes(), 100).expect("parses").rows
    }

    fn bad(text: &str) -> BadRow {
        match rows(text).pop() {
            Some(Err(bad)) => bad,
            other => panic!("expected a bad last row in {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn csv_with_and_without_the_label_column() {
        let got = rows(&format!(
            "{HEADER},species\n5.1,3.5,1.4,0.2,setosa\n\n6,3,5,2,\r\n"
        ));
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Ok(Features::new([5.1, 3.5, 1.4, 0.2]).expect("valid"))
        );
        let got = parse(
            format!("\u{feff}{HEADER}\r\n5.1,3.5,1.4,0.2\r\n").as_bytes(),
            100,
        )
        .expect("parses");
        assert_eq!((got.format, got.rows.len()), (Format::Csv, 1));
    }

    #[test]
    fn every_bad_csv_row_kind_is_named() {
        for (row, code, field) in [
            ("NaN,3.5,1.4,0.2", "invalid_value", Some("sepal_length")),
            ("5.1,-3.5,1.4,0.2", "invalid_value", Some("sepal_width")),
            ("5.1,3.5,1e9,0.2", "invalid_value", Some("petal_length")),
            ("5.1,3.5,1.4,inf", "invalid_value", Some("petal_width")),
            ("5.1,abc,1.4,0.2", "wrong_type", Some("sepal_width")),
            ("5.1,3.5,1.4", "missing_field", Some("petal_width")),
            ("5.1,3.5,,0.2", "missing_field", Some("petal_length")),
            ("5.1,3.5,1.4,0.2,1", "wrong_field_count", None),
        ] {
            let b = bad(&format!("{HEADER}\n5,3,1,0.2\n{row}\n"));
            assert_eq!((b.code, b.field.as_deref()), (code, field), "{row}");
            assert!(!b.message.is_empty());
        }
    }

    #[test]
    fn every_bad_json_line_kind_is_named() {
        let good = r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;
        for (line, code, field) in [
            (
                r#"{"sepal_length":-1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
                "invalid_value",
                Some("sepal_length"),
            ),
            (
                r#"{"sepal_length":1e999,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
                "invalid_value",
                Some("sepal_length"),
            ),
            (
                r#"{"sepal_length":"5","sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
                "wrong_type",
                Some("sepal_length"),
            ),
            (
                r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}"#,
                "missing_field",
                Some("petal_width"),
            ),
            ("{not json", "malformed_json", None),
            (r#"{"instances":[]}"#, "empty_batch", Some("instances")),
        ] {
            let got = rows(&format!("{good}\n{line}\n"));
            assert_eq!(got.len(), 2);
            assert!(got[0].is_ok());
            let b = got[1].clone().expect_err(line);
            assert_eq!((b.code, b.field.as_deref()), (code, field), "{line}");
        }
    }

    #[test]
    fn every_bad_file_kind_is_refused() {
        let header_only = format!("{HEADER}\n");
        let cases: [(&[u8], &str); 6] = [
            (&[0x50, 0x4b, 0x03, 0x04, 0xff, 0xfe], "not_text"),
            (b"", "empty_file"),
            (b"\n\n  \n", "empty_file"),
            (header_only.as_bytes(), "empty_file"),
            (b"a,b,c,d\n1,2,3,4\n", "wrong_header"),
            (
                b"petal_width,petal_length,sepal_width,sepal_length\n1,2,3,4\n",
                "wrong_header",
            ),
        ];
        for (bytes, code) in cases {
            let err = parse(bytes, 100).expect_err(code);
            assert_eq!(err.code(), code, "{err}");
        }
        let many = format!("{HEADER}\n{}", "5,3,1,0.2\n".repeat(4));
        assert_eq!(
            parse(many.as_bytes(), 3).expect_err("4 > 3").code(),
            "too_many_rows"
        );
        assert!(parse(many.as_bytes(), 4).is_ok());
    }
}
