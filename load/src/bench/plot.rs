//! The benchmark's plot, as hand-written SVG (no plotting crate, no external tool): committed
//! tx/s against the offered rate above, p50 and p99 latency against the offered rate below.
use std::fmt::Write;

/// What the plot shows of one rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub offered: f64,
    /// By the chain's block timestamps.
    pub chain_tps: f64,
    /// As the load generator measured it.
    pub load_tps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

const WIDTH: f64 = 800.0;
const PANEL: f64 = 300.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 50.0;
const GAP: f64 = 70.0;

/// One panel: its vertical position and its axes' ranges.
struct Panel {
    top: f64,
    x_max: f64,
    y_max: f64,
}

impl Panel {
    fn x(&self, v: f64) -> f64 {
        LEFT + v / self.x_max * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        self.top + PANEL - v / self.y_max * PANEL
    }
}

/// A series of the plot: its name, colour, dash pattern and value of each point.
type Series<'a> = (&'a str, &'a str, &'a str, fn(&Point) -> f64);

/// The SVG document for `points` (in any order), titled `title`.
pub fn svg(title: &str, points: &[Point]) -> String {
    let mut points = points.to_vec();
    points.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    let max = |f: fn(&Point) -> f64| points.iter().map(f).fold(0.0, f64::max);
    let x_max = nice_top(max(|p| p.offered));
    let height = TOP + 2.0 * PANEL + GAP + 60.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ =
        writeln!(s, r#"<text x="{}" y="24" font-size="15" text-anchor="middle">{}</text>"#, WIDTH / 2.0, escape(title));

    let tps = Panel { top: TOP, x_max, y_max: nice_top(max(|p| p.offered.max(p.chain_tps).max(p.load_tps))) };
    axes(&mut s, &tps, "committed tx/s");
    // What an unsaturated chain commits: everything offered.
    let _ = writeln!(
        s,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4 4"/>"##,
        tps.x(0.0),
        tps.y(0.0),
        tps.x(x_max.min(tps.y_max)),
        tps.y(x_max.min(tps.y_max))
    );
    let tps_series: [Series; 3] = [
        ("chain (block timestamps)", "#1f77b4", "", |p| p.chain_tps),
        ("load generator", "#2ca02c", "6 3", |p| p.load_tps),
        ("offered", "#999", "4 4", |p| p.offered),
    ];
    lines(&mut s, &tps, &points, &tps_series[..2]);
    legend(&mut s, &tps, &tps_series);

    let lat = Panel { top: TOP + PANEL + GAP, x_max, y_max: nice_top(max(|p| p.p99_ms.max(p.p50_ms))) };
    axes(&mut s, &lat, "latency to finality (ms)");
    let lat_series: [Series; 2] = [("p50", "#1f77b4", "", |p| p.p50_ms), ("p99", "#d62728", "", |p| p.p99_ms)];
    lines(&mut s, &lat, &points, &lat_series);
    legend(&mut s, &lat, &lat_series);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">offered rate (tx/s)</text>"#,
        lat.x(x_max / 2.0),
        lat.top + PANEL + 40.0
    );
    s.push_str("</svg>\n");
    s
}

/// The frame, grid lines and tick labels of a panel, and its y-axis title.
fn axes(s: &mut String, p: &Panel, y_title: &str) {
    let (x0, x1, y0, y1) = (p.x(0.0), p.x(p.x_max), p.y(0.0), p.y(p.y_max));
    for v in ticks(p.y_max) {
        let y = p.y(v);
        let _ = writeln!(s, r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#e5e5e5"/>"##);
        let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, x0 - 6.0, y + 4.0, label(v));
    }
    for v in ticks(p.x_max) {
        let x = p.x(v);
        let _ = writeln!(s, r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{}" stroke="#444"/>"##, y0 + 5.0);
        let _ = writeln!(s, r#"<text x="{x}" y="{}" text-anchor="middle">{}</text>"#, y0 + 18.0, label(v));
    }
    let _ = writeln!(
        s,
        r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
        x1 - x0,
        y0 - y1
    );
    let (tx, ty) = (x0 - 58.0, (y0 + y1) / 2.0);
    let _ = writeln!(
        s,
        r#"<text x="{tx}" y="{ty}" text-anchor="middle" transform="rotate(-90 {tx} {ty})">{}</text>"#,
        escape(y_title)
    );
}

/// A polyline and a dot per point for each series.
fn lines(s: &mut String, p: &Panel, points: &[Point], series: &[Series]) {
    for (name, colour, dash, value) in series {
        let coords: Vec<String> =
            points.iter().map(|pt| format!("{:.1},{:.1}", p.x(pt.offered), p.y(value(pt)))).collect();
        let _ = writeln!(
            s,
            r#"<polyline class="{}" points="{}" fill="none" stroke="{colour}" stroke-width="2"{}/>"#,
            escape(name),
            coords.join(" "),
            dashes(dash)
        );
        for pt in points {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{}: {} at {} tx/s offered</title></circle>"#,
                p.x(pt.offered),
                p.y(value(pt)),
                escape(name),
                label(value(pt)),
                label(pt.offered)
            );
        }
    }
}

fn legend(s: &mut String, p: &Panel, series: &[Series]) {
    let x = WIDTH - RIGHT + 15.0;
    for (i, (name, colour, dash, _)) in series.iter().enumerate() {
        let y = p.top + 15.0 + 20.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2"{}/>"#,
            x + 22.0,
            dashes(dash)
        );
        let _ = writeln!(s, r#"<text x="{}" y="{}">{}</text>"#, x + 28.0, y + 4.0, escape(name));
    }
}

/// The dash attribute of a series, none for a solid line.
fn dashes(pattern: &str) -> String {
    if pattern.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{pattern}""#)
    }
}

/// The axis top for values up to `max`: a multiple of the tick step at or above it.
fn nice_top(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let step = step(max);
    // Less a hair, so that 0.3 / 0.1 = 3.0000000000000004 stays at 3 steps.
    (max / step - 1e-9).ceil() * step
}

/// A tick step of 1, 2 or 5 × 10^k giving about five ticks up to `max`.
fn step(max: f64) -> f64 {
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

fn ticks(top: f64) -> Vec<f64> {
    let step = step(top);
    (0..).map(|i| i as f64 * step).take_while(|v| *v <= top * (1.0 + 1e-9)).collect()
}

/// A tick or value label: integers plain, fractions with as few digits as they need.
fn label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(offered: f64, committed: f64, p50: f64, p99: f64) -> Point {
        Point { offered, chain_tps: committed, load_tps: committed * 0.99, p50_ms: p50, p99_ms: p99 }
    }

    #[test]
    fn axes_end_on_a_round_tick_above_the_data() {
        assert_eq!(nice_top(9_881.0), 10_000.0);
        assert_eq!(nice_top(12_000.0), 15_000.0);
        assert_eq!(nice_top(45.0), 50.0);
        assert_eq!(nice_top(0.0), 1.0);
        assert_eq!(ticks(10_000.0), vec![0.0, 2_000.0, 4_000.0, 6_000.0, 8_000.0, 10_000.0]);
        assert_eq!((label(2_000.0), label(0.25), label(1.5)), ("2000".into(), "0.25".into(), "1.5".into()));
    }

    #[test]
    fn every_rate_is_a_dot_on_each_line_inside_the_frame() {
        let points = [point(10_000.0, 9_881.0, 491.0, 1_415.0), point(2_000.0, 1_994.0, 39.0, 66.0)];
        let svg = svg("4 validators <test> & co", &points);
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("4 validators &lt;test&gt; &amp; co"), "the title is escaped");
        // Two series in the tx/s panel, two in the latency panel, a dot per rate on each.
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains("<title>p99: 1415 at 10000 tx/s offered</title>"));
        // Sorted by offered rate: the p50 line goes from 2000 to 10000.
        let p50 = svg.lines().find(|l| l.contains(r#"class="p50""#)).unwrap();
        let xs: Vec<f64> = p50
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .map(|xy| xy.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert!(xs[0] < xs[1], "{p50}");
        // Every coordinate is a number inside the drawing.
        for c in svg.split("<circle").skip(1) {
            let attr = |n: &str| -> f64 {
                c.split(&format!("{n}=\"")).nth(1).unwrap().split('"').next().unwrap().parse().unwrap()
            };
            assert!(
                (0.0..=WIDTH).contains(&attr("cx")) && (TOP..=TOP + 2.0 * PANEL + GAP).contains(&attr("cy")),
                "{c}"
            );
        }
    }

    #[test]
    fn a_run_that_committed_nothing_still_draws() {
        let svg = svg("t", &[point(5.0, 0.0, 0.0, 0.0)]);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 4);
    }
}
