//! The `text/csv` body of `POST /invocations` → validated `iris_model::Features`: one
//! flower per line, the four measurements in the order of `iris_model::FEATURES`, no
//! quoting; an optional first line naming exactly those columns. One line answers like a
//! single flower, more like a batch, so CSV and JSON callers get the same shapes. Owns
//! every 4xx a CSV body can cause and names the line and column at fault.

use iris_model::{FEATURES, Features};

use crate::error::{ApiError, clip};
use crate::input::{MAX_BODY_BYTES, PredictInput};

/// Validates a CSV body against the same rules as the JSON one.
pub fn parse(body: &[u8], max_batch: usize) -> Result<PredictInput, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(
            "payload_too_large",
            format!(
                "the body has {} bytes; the limit is {MAX_BODY_BYTES}",
                body.len()
            ),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::bad_request(
            "malformed_csv",
            "the body is not UTF-8 text; send CSV lines",
        )
    })?;
    let mut lines: Vec<(usize, &str)> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    if lines.first().is_some_and(|(_, l)| is_header(l)) {
        lines.remove(0);
    }
    if lines.is_empty() {
        return Err(ApiError::bad_request(
            "malformed_csv",
            format!("the body holds no flower; send lines of {}", example()),
        ));
    }
    if lines.len() > max_batch {
        return Err(ApiError {
            field: Some("rows".into()),
            ..ApiError::too_large(
                "batch_too_large",
                format!(
                    "the body holds {} flowers; the limit is {max_batch} per request",
                    lines.len()
                ),
            )
        });
    }
    let mut flowers = lines
        .iter()
        .enumerate()
        .map(|(row, (line_no, line))| flower(row, *line_no, line))
        .collect::<Result<Vec<_>, _>>()?;
    if flowers.len() == 1
        && let Some(one) = flowers.pop()
    {
        return Ok(PredictInput::Single(one));
    }
    Ok(PredictInput::Batch(flowers))
}

fn is_header(line: &str) -> bool {
    line.split(',').map(str::trim).eq(FEATURES)
}

fn flower(row: usize, line_no: usize, line: &str) -> Result<Features, ApiError> {
    let cells: Vec<&str> = line.split(',').map(str::trim).collect();
    if cells.len() != FEATURES.len() {
        return Err(ApiError::field(
            "wrong_column_count",
            format!("rows[{row}]"),
            format!(
                "line {line_no} has {} columns; expected 4: {}",
                cells.len(),
                example()
            ),
        ));
    }
    let mut values = [0.0_f64; 4];
    for ((slot, cell), name) in values.iter_mut().zip(&cells).zip(FEATURES) {
        *slot = number(cell).ok_or_else(|| {
            ApiError::field(
                "wrong_type",
                format!("rows[{row}].{name}"),
                format!(
                    "line {line_no}: {name} must be a number in cm, got {:?}",
                    clip(cell)
                ),
            )
        })?;
    }
    Features::new(values).map_err(|err| {
        let field = format!("rows[{row}].{}", err.feature());
        ApiError::field(
            "invalid_value",
            field.clone(),
            format!("line {line_no}: {field}: {err}"),
        )
    })
}

/// A decimal number as f64: digits, sign, point and exponent only, so `inf`, `NaN` and
/// hex are refused here (out-of-range literals become ±inf, which `Features` rejects).
fn number(cell: &str) -> Option<f64> {
    let first = cell.chars().next()?;
    let decimal = cell
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if decimal && (first == '-' || first == '+' || first == '.' || first.is_ascii_digit()) {
        cell.parse::<f64>().ok()
    } else {
        None
    }
}

fn example() -> String {
    format!("{} (in cm), e.g. 5.1,3.5,1.4,0.2", FEATURES.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> ApiError {
        parse(body.as_bytes(), 3).expect_err(body)
    }

    #[test]
    fn one_line_is_a_single_flower_and_more_are_a_batch() {
        let one = parse(b"5.1,3.5,1.4,0.2\n", 3).expect("valid");
        let expected = Features::new([5.1, 3.5, 1.4, 0.2]).expect("valid");
        assert_eq!(one, PredictInput::Single(expected));
        let two = parse(b"5.1,3.5,1.4,0.2\r\n6.0, 2.2, 5.0, 1.5\r\n", 3).expect("valid");
        match two {
            PredictInput::Batch(items) => {
                assert_eq!(items.len(), 2);
                assert_eq!(items[0], expected);
            }
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[test]
    fn a_header_naming_the_features_is_skipped() {
        let body = format!("{}\n5.1,3.5,1.4,0.2", FEATURES.join(","));
        assert!(matches!(
            parse(body.as_bytes(), 3),
            Ok(PredictInput::Single(_))
        ));
        // Any other first line is data, and fails as data.
        assert_eq!(err("a,b,c,d\n5.1,3.5,1.4,0.2").code, "wrong_type");
    }

    #[test]
    fn every_bad_body_is_a_4xx_naming_line_and_column() {
        for body in ["", "\n\n", " \r\n"] {
            assert_eq!(err(body).code, "malformed_csv", "{body:?}");
        }
        let e = err("5.1,3.5,1.4");
        assert_eq!((e.status, e.code), (400, "wrong_column_count"));
        assert_eq!(e.field.as_deref(), Some("rows[0]"));
        let e = err("5.1,3.5,1.4,0.2\n5.1,3.5,x,0.2");
        assert_eq!(e.code, "wrong_type");
        assert_eq!(e.field.as_deref(), Some("rows[1].petal_length"));
        assert!(e.message.starts_with("line 2:"), "{}", e.message);
        for cell in ["inf", "NaN", "0x10", "\"5.1\"", ""] {
            let e = err(&format!("5.1,3.5,1.4,{cell}"));
            assert_eq!(e.code, "wrong_type", "{cell}");
        }
        for cell in ["-1", "0", "1e999", "1000"] {
            let e = err(&format!("5.1,3.5,1.4,{cell}"));
            assert_eq!(
                (e.code, e.field.as_deref()),
                ("invalid_value", Some("rows[0].petal_width")),
                "{cell}"
            );
        }
        let e = err(&"5.1,3.5,1.4,0.2\n".repeat(4));
        assert_eq!((e.status, e.code), (413, "batch_too_large"));
        let e = parse(&vec![b' '; MAX_BODY_BYTES + 1], 3).expect_err("too large");
        assert_eq!((e.status, e.code), (413, "payload_too_large"));
        assert_eq!(
            parse(&[0xff, 0xfe], 3).expect_err("bytes").code,
            "malformed_csv"
        );
    }
}
