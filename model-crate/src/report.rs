//! report.html: the page a person reads before approving a model. Self-contained (inline
//! SVG and CSS, no scripts, no network). Owns layout and escaping; every string that can
//! come from user data (class names, file paths) goes through [`escape`]. It must not
//! compute metrics: it draws what the manifest says.

use std::fmt::Write as _;

use crate::FEATURES;
use crate::dataset::Dataset;
use crate::manifest::Manifest;
use crate::split::Split;

/// Species colours (Okabe-Ito: distinguishable with the common colour-vision deficiencies).
const PALETTE: [&str; 6] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
];

pub struct ReportInput<'a> {
    pub manifest: &'a Manifest,
    pub data: &'a Dataset,
    pub split: &'a Split,
}

/// Escape text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn colour(class: usize) -> &'static str {
    PALETTE[class % PALETTE.len()]
}

/// Round tick positions covering `lo..=hi` (steps of 1, 2 or 5 times a power of ten).
fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        // `+ 0.0` turns -0.0 into 0.0 so no tick reads "-0".
        out.push((t / step).round() * step + 0.0);
        t += step;
    }
    out
}

fn fmt_tick(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

pub fn render(input: &ReportInput<'_>) -> String {
    let m = input.manifest;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Iris model {short}</title><style>{CSS}</style></head><body>\n\
         <h1>Iris Random Forest &mdash; training report</h1>\n",
        short = escape(&m.sha256[..m.sha256.len().min(12)]),
    );
    let verdict = if m.metrics.accuracy >= m.params.min_accuracy {
        "pass"
    } else {
        "fail"
    };
    let _ = writeln!(
        h,
        "<p class=\"verdict {verdict}\">Held-out accuracy <b>{:.1}%</b> on {} rows \
         (gate: {:.1}%) &mdash; {}</p>",
        m.metrics.accuracy * 100.0,
        m.metrics.rows,
        m.params.min_accuracy * 100.0,
        if verdict == "pass" { "passes" } else { "FAILS" },
    );
    summary(&mut h, m);
    metrics_table(&mut h, m);
    h.push_str("<div class=\"row\">");
    confusion(&mut h, m);
    importance(&mut h, m);
    h.push_str("</div>\n");
    pairs(&mut h, input);
    ranges(&mut h, m);
    h.push_str("</body></html>\n");
    h
}

const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;\
margin:24px auto;max-width:1100px;color:#222;line-height:1.4}h1{font-size:24px}h2{font-size:18px;\
margin-top:28px;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:8px 0}\
td,th{padding:4px 10px;border-bottom:1px solid #e5e5e5;text-align:right}th{background:#f6f6f6}\
td:first-child,th:first-child{text-align:left}code{font-size:12px;word-break:break-all}\
.verdict{font-size:18px;padding:8px 12px;border-radius:4px}.pass{background:#e6f4ea}\
.fail{background:#fce8e6}.row{display:flex;gap:40px;flex-wrap:wrap}svg text{font-family:inherit}\
.note{color:#555;font-size:13px}";

fn summary(h: &mut String, m: &Manifest) {
    let depth = m
        .params
        .max_depth
        .map_or("unlimited".to_owned(), |d| d.to_string());
    let rows: [(&str, String); 10] = [
        (
            "model sha256",
            format!("<code>{}</code>", escape(&m.sha256)),
        ),
        (
            "manifest sha256",
            format!("<code>{}</code>", escape(&m.manifest_sha256)),
        ),
        ("created by", escape(&m.created_by)),
        ("data set", escape(&m.dataset.source)),
        (
            "data set sha256",
            format!("<code>{}</code>", escape(&m.dataset_sha256)),
        ),
        (
            "rows",
            format!(
                "{} ({} train, {} held out)",
                m.dataset.rows, m.dataset.train_rows, m.dataset.test_rows
            ),
        ),
        ("seed", m.seed.to_string()),
        ("trees", m.params.trees.to_string()),
        (
            "max depth / features per split",
            format!("{depth} / {}", m.params.max_features),
        ),
        ("test fraction", m.params.test_fraction.to_string()),
    ];
    h.push_str("<h2>Training</h2><table>");
    for (k, v) in rows {
        let _ = write!(
            h,
            "<tr><td>{k}</td><td style=\"text-align:left\">{v}</td></tr>"
        );
    }
    h.push_str("</table>\n");
}

fn metrics_table(h: &mut String, m: &Manifest) {
    h.push_str(
        "<h2>Held-out metrics</h2><table><tr><th>class</th><th>precision</th><th>recall</th>\
         <th>F1</th><th>support</th></tr>",
    );
    for c in &m.metrics.per_class {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
            escape(&c.class),
            c.precision,
            c.recall,
            c.f1,
            c.support
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>accuracy</th><th colspan=\"3\">{:.4}</th><th>{}</th></tr></table>",
        m.metrics.accuracy, m.metrics.rows
    );
}

fn confusion(h: &mut String, m: &Manifest) {
    let n = m.classes.len();
    let cell = 70.0;
    let (left, top) = (110.0, 60.0);
    let (w, hgt) = (left + cell * n as f64 + 20.0, top + cell * n as f64 + 30.0);
    let max = m
        .metrics
        .confusion
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let _ = write!(
        h,
        "<div><h2>Confusion matrix</h2><svg width=\"{w}\" height=\"{hgt}\" \
         viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"confusion matrix\">\
         <text x=\"{x}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">predicted</text>\
         <text x=\"14\" y=\"{y}\" text-anchor=\"middle\" font-size=\"13\" \
         transform=\"rotate(-90 14 {y})\">actual</text>",
        x = left + cell * n as f64 / 2.0,
        y = top + cell * n as f64 / 2.0,
    );
    for (i, class) in m.classes.iter().enumerate() {
        let c = escape(class);
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\">{c}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{c}</text>",
            left + cell * (i as f64 + 0.5),
            top - 8.0,
            left - 8.0,
            top + cell * (i as f64 + 0.5) + 4.0,
        );
    }
    for (a, row) in m.metrics.confusion.iter().enumerate() {
        for (p, &count) in row.iter().enumerate() {
            let share = count as f64 / max;
            // Diagonal cells in blue, mistakes in red, intensity by count.
            let (r, g, b) = if a == p {
                (0.0, 114.0, 178.0)
            } else {
                (213.0, 94.0, 0.0)
            };
            let mix = |c: f64| (255.0 - (255.0 - c) * share).round();
            let text = if share > 0.55 { "#fff" } else { "#222" };
            let x = left + cell * p as f64;
            let y = top + cell * a as f64;
            let _ = write!(
                h,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" \
                 fill=\"rgb({},{},{})\" stroke=\"#bbb\"/><text x=\"{}\" y=\"{}\" \
                 text-anchor=\"middle\" font-size=\"18\" fill=\"{text}\">{count}</text>",
                mix(r),
                mix(g),
                mix(b),
                x + cell / 2.0,
                y + cell / 2.0 + 6.0,
            );
        }
    }
    h.push_str("</svg></div>");
}

fn importance(h: &mut String, m: &Manifest) {
    let (left, bar_h, width) = (110.0, 26.0, 260.0);
    let hgt = 30.0 + bar_h * FEATURES.len() as f64 + 40.0;
    let w = left + width + 70.0;
    let max = m
        .feature_importances
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-12);
    let _ = write!(
        h,
        "<div><h2>Feature importance</h2><svg width=\"{w}\" height=\"{hgt}\" \
         viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"feature importance\">"
    );
    for (i, (name, value)) in FEATURES.iter().zip(&m.feature_importances).enumerate() {
        let y = 20.0 + bar_h * i as f64;
        let len = width * value / max;
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{name}</text>\
             <rect x=\"{left}\" y=\"{}\" width=\"{len:.1}\" height=\"{}\" fill=\"#0072B2\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{:.3}</text>",
            left - 8.0,
            y + bar_h / 2.0 + 4.0,
            y + 3.0,
            bar_h - 6.0,
            left + len + 6.0,
            y + bar_h / 2.0 + 4.0,
            value
        );
    }
    let _ = write!(
        h,
        "<text x=\"{left}\" y=\"{}\" font-size=\"11\" fill=\"#555\">mean decrease in Gini \
         impurity, normalised to sum to 1</text></svg></div>",
        hgt - 12.0
    );
}

fn pairs(h: &mut String, input: &ReportInput<'_>) {
    let data = input.data;
    let size = 190.0;
    let gap = 14.0;
    let (left, top) = (60.0, 40.0);
    let n = FEATURES.len();
    let total = left + (size + gap) * n as f64 + 10.0;
    let height = top + (size + gap) * n as f64 + 50.0;
    let held_out: std::collections::HashSet<usize> = input.split.test.iter().copied().collect();
    let bounds: Vec<(f64, f64)> = (0..n)
        .map(|f| {
            let (lo, hi) = data
                .rows
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                    (lo.min(r[f]), hi.max(r[f]))
                });
            let pad = (hi - lo).max(0.1) * 0.06;
            (lo - pad, hi + pad)
        })
        .collect();
    let _ = write!(
        h,
        "<h2>The data: every pair of measurements</h2>\
         <p class=\"note\">Each point is one flower (cm). Filled: training rows; rings: \
         held-out rows the metrics above are computed on. The diagonal shows each \
         measurement's distribution per species.</p>\
         <svg width=\"{total}\" height=\"{height}\" viewBox=\"0 0 {total} {height}\" \
         role=\"img\" aria-label=\"pairwise scatter plots\">"
    );
    for (class, name) in data.classes.iter().enumerate() {
        let x = left + class as f64 * 150.0;
        let _ = write!(
            h,
            "<circle cx=\"{}\" cy=\"16\" r=\"6\" fill=\"{}\"/><text x=\"{}\" y=\"20\" \
             font-size=\"13\">{}</text>",
            x + 6.0,
            colour(class),
            x + 16.0,
            escape(name)
        );
    }
    let legend_x = left + data.classes.len() as f64 * 150.0;
    let _ = write!(
        h,
        "<circle cx=\"{}\" cy=\"16\" r=\"5\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.5\"/>\
         <text x=\"{}\" y=\"20\" font-size=\"13\">held out</text>",
        legend_x + 6.0,
        legend_x + 16.0
    );
    for row in 0..n {
        for col in 0..n {
            let x0 = left + (size + gap) * col as f64;
            let y0 = top + (size + gap) * row as f64;
            let sx = |v: f64| x0 + (v - bounds[col].0) / (bounds[col].1 - bounds[col].0) * size;
            let sy =
                |v: f64| y0 + size - (v - bounds[row].0) / (bounds[row].1 - bounds[row].0) * size;
            let _ = write!(
                h,
                "<rect x=\"{x0}\" y=\"{y0}\" width=\"{size}\" height=\"{size}\" fill=\"#fafafa\" \
                 stroke=\"#999\"/>"
            );
            for t in ticks(bounds[col].0, bounds[col].1, 4) {
                let x = sx(t);
                let _ = write!(
                    h,
                    "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#999\"/>",
                    y0 + size,
                    y0 + size + 4.0
                );
                if row == n - 1 {
                    let _ = write!(
                        h,
                        "<text x=\"{x:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                        y0 + size + 15.0,
                        fmt_tick(t)
                    );
                }
            }
            if row == n - 1 {
                let _ = write!(
                    h,
                    "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{} (cm)</text>",
                    x0 + size / 2.0,
                    y0 + size + 32.0,
                    FEATURES[col]
                );
            }
            if row == col {
                histogram(h, data, col, x0, y0, size, &bounds[col]);
                if col == 0 {
                    y_label(h, FEATURES[row], x0, y0, size);
                }
                continue;
            }
            for t in ticks(bounds[row].0, bounds[row].1, 4) {
                let y = sy(t);
                let _ = write!(
                    h,
                    "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{x0}\" y2=\"{y:.1}\" stroke=\"#999\"/>",
                    x0 - 4.0
                );
                if col == 0 {
                    let _ = write!(
                        h,
                        "<text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
                        x0 - 6.0,
                        y + 3.5,
                        fmt_tick(t)
                    );
                }
            }
            if col == 0 {
                y_label(h, FEATURES[row], x0, y0, size);
            }
            for (i, r) in data.rows.iter().enumerate() {
                let c = colour(data.labels[i]);
                let style = if held_out.contains(&i) {
                    format!("fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\"")
                } else {
                    format!("fill=\"{c}\" fill-opacity=\"0.75\"")
                };
                let _ = write!(
                    h,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" {style}/>",
                    sx(r[col]),
                    sy(r[row])
                );
            }
        }
    }
    h.push_str("</svg>\n");
}

fn y_label(h: &mut String, name: &str, x0: f64, y0: f64, size: f64) {
    let (x, y) = (x0 - 40.0, y0 + size / 2.0);
    let _ = write!(
        h,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"12\" text-anchor=\"middle\" \
         transform=\"rotate(-90 {x} {y})\">{name} (cm)</text>"
    );
}

/// Per-species histograms of one feature, drawn as overlaid outlines.
fn histogram(
    h: &mut String,
    data: &Dataset,
    f: usize,
    x0: f64,
    y0: f64,
    size: f64,
    b: &(f64, f64),
) {
    const BINS: usize = 16;
    let width = (b.1 - b.0) / BINS as f64;
    let mut counts = vec![[0usize; BINS]; data.classes.len()];
    for (r, &label) in data.rows.iter().zip(&data.labels) {
        let bin = (((r[f] - b.0) / width) as usize).min(BINS - 1);
        counts[label][bin] += 1;
    }
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    for (class, bins) in counts.iter().enumerate() {
        let mut path = format!("M{x0:.1},{:.1}", y0 + size);
        for (i, &c) in bins.iter().enumerate() {
            let y = y0 + size - c as f64 / max * (size - 10.0);
            let xa = x0 + i as f64 * size / BINS as f64;
            let xb = xa + size / BINS as f64;
            let _ = write!(path, " L{xa:.1},{y:.1} L{xb:.1},{y:.1}");
        }
        let _ = write!(path, " L{:.1},{:.1} Z", x0 + size, y0 + size);
        let c = colour(class);
        let _ = write!(
            h,
            "<path d=\"{path}\" fill=\"{c}\" fill-opacity=\"0.25\" stroke=\"{c}\" stroke-width=\"1.5\"/>"
        );
    }
}

fn ranges(h: &mut String, m: &Manifest) {
    h.push_str(
        "<h2>Training ranges and the is_iris rule</h2><table><tr><th>feature</th>\
         <th>min (cm)</th><th>max (cm)</th><th>accepted as Iris (cm)</th></tr>",
    );
    let rule = m.is_iris.unwrap_or_default();
    for f in &m.features {
        let pad = (f.max - f.min) * rule.range_margin;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} &ndash; {:.2}</td></tr>",
            escape(&f.name),
            f.min,
            f.max,
            // Features must be > 0 anyway, so a negative lower bound would mislead.
            if f.min - pad > 0.0 {
                format!("{:.2}", f.min - pad)
            } else {
                "&gt; 0".to_owned()
            },
            f.max + pad
        );
    }
    let _ = write!(
        h,
        "</table><p class=\"note\">is_iris is false when any measurement lies outside the \
         training range widened by {:.0}% of that range on each side, or when the top class \
         probability is below {:.2}.</p>",
        rule.range_margin * 100.0,
        rule.min_top_probability
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{TrainOptions, train};

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<b a=\"x\">&'"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(4.1, 8.1, 4), vec![5.0, 6.0, 7.0, 8.0]);
        assert_eq!(ticks(0.0, 2.6, 4), vec![0.0, 1.0, 2.0]);
        assert_eq!(fmt_tick(0.5), "0.5");
        assert_eq!(fmt_tick(2.0), "2");
        assert_eq!(ticks(-0.04, 2.6, 4)[0].to_string(), "0");
    }

    #[test]
    fn report_is_self_contained_and_escapes_user_strings() {
        let mut data = Dataset::builtin().expect("builtin");
        let t = train(&data, &TrainOptions::default()).expect("train");
        let mut manifest = t.manifest.clone();
        manifest.dataset.source = "<script>alert(1)</script>.csv".into();
        data.classes[0] = "<img src=x onerror=alert(1)>".into();
        let html = render(&ReportInput {
            manifest: &manifest,
            data: &data,
            split: &t.split,
        });
        assert!(!html.contains("<script"), "user text must be escaped");
        assert!(!html.contains("<img"), "user text must be escaped");
        assert!(html.contains("&lt;script&gt;"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no network"
        );
        assert_eq!(html.matches("<svg").count(), 3);
        // one circle per flower per off-diagonal panel
        assert!(html.matches("<circle").count() >= 150 * 12);
        for f in FEATURES {
            assert!(html.contains(f));
        }
    }
}
