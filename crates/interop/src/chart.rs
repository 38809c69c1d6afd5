//! Line charts of a patient's results over time, drawn on the server as one inline `<svg>`.
//!
//! A chart shows one measure (marrow blasts, neutrophils, …) as one or more series of dated
//! results, with confidence limits as error bars, reference lines (e.g. the ELN 2022 complete
//! remission threshold) and treatment milestones as vertical lines.
//!
//! Choices that shape the output:
//! - **Black-and-white print.** Series differ by marker shape, dash pattern and filled/open
//!   markers, never by colour alone, and every stroke is dark. Colour is a screen nicety on top.
//! - **No page CSS.** All styling is presentation attributes. A `<style>` element inside inline
//!   SVG would apply to the whole page, and a chart saved or printed on its own has no page CSS.
//! - **Screen readers.** `role="img"` with a `<title>` and a `<desc>` that tells the trend in
//!   words: series, number of results, first, last and highest values with their dates.
//! - **Browser tests.** Every point's marker carries its input as `data-*` attributes
//!   (`data-series`, `data-key`, `data-at`, `data-value`, `data-lower`, `data-upper`), with the
//!   value written by `{}` so it parses back to the same `f64`.
//! - **Charts line up.** The plot's left and right edges are fixed, so charts given the same
//!   `from`/`to` put the same instant at the same x, one above the other.
//! - **Deterministic.** The same chart always gives the same bytes; coordinates carry at most
//!   one decimal.

use std::fmt::Write as _;

use marrow_domain::time::{Date, Timestamp};

/// One dated result on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// When the specimen was taken.
    pub at: Timestamp,
    /// The result, in the chart's unit. A value that is not a finite number is left out.
    pub value: f64,
    /// Lower confidence limit, if known (`f64::NEG_INFINITY` is drawn as an arrow downwards).
    pub lower: Option<f64>,
    /// Upper confidence limit, if known (`f64::INFINITY` is drawn as an arrow upwards).
    pub upper: Option<f64>,
    /// The record the result comes from (case id, count id), emitted as `data-key`.
    pub key: String,
    /// The tooltip, e.g. "12.0 % (95 % limits 9.4–15.1), 2026-03-01".
    pub label: String,
}

/// One line on the chart, e.g. "Marrow blasts" or "Blood blasts".
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend and the description.
    pub name: String,
    /// The results, in any order: they are drawn in time order.
    pub points: Vec<Point>,
}

/// A horizontal threshold, e.g. 5 % with "ELN 2022 CR: blasts < 5 %".
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceLine {
    /// Where the line sits, in the chart's unit. A value that is not finite is left out.
    pub value: f64,
    /// Printed at one end of the line.
    pub label: String,
}

/// A treatment or transplant milestone, drawn as a dotted vertical line with a short label.
#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneLine {
    /// When it happened.
    pub at: Timestamp,
    /// e.g. "Induction" or "Allogeneic transplant".
    pub label: String,
}

/// Everything one chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Element id of the `<svg>`, unique on the page; the `<title>` and `<desc>` ids derive
    /// from it. Characters other than ASCII letters, digits, `-` and `_` become `-`.
    pub id: String,
    /// e.g. "Marrow blasts".
    pub title: String,
    /// e.g. "%" or "×10⁹/L"; labels the value axis and the values in the description.
    pub unit: String,
    /// The lines, distinguished by shape, dash and fill in the order given.
    pub series: Vec<Series>,
    /// Horizontal thresholds.
    pub reference_lines: Vec<ReferenceLine>,
    /// Treatment milestones. Those outside the time range are left out.
    pub milestones: Vec<MilestoneLine>,
    /// Start of the time axis. Give every chart of a patient the same `from` and `to` so they
    /// line up. A result outside the range widens it: a result is never hidden.
    pub from: Timestamp,
    /// End of the time axis. A range shorter than two days is widened to two days around its
    /// middle, so a single result sits in the middle of a readable axis.
    pub to: Timestamp,
    /// Bottom of the value axis (0 if `None`). A lower value or limit lowers it.
    pub y_min: Option<f64>,
}

/// The chart as one `<svg>` element, sized by its `viewBox` (640 units wide) and `width="100%"`.
///
/// A chart without a single drawable result shows its title and "No results yet".
///
/// ```
/// use marrow_domain::time::Timestamp;
/// use marrow_interop::chart::{render, Chart, Point, ReferenceLine, Series};
///
/// let day = |d: i64| Timestamp::from_unix(1_767_225_600 + d * 86_400); // from 2026-01-01
/// let blasts = |d: i64, value: f64, key: &str| Point {
///     at: day(d),
///     value,
///     lower: None,
///     upper: None,
///     key: key.to_owned(),
///     label: format!("{value} %"),
/// };
/// let chart = Chart {
///     id: "marrow-blasts".to_owned(),
///     title: "Marrow blasts".to_owned(),
///     unit: "%".to_owned(),
///     series: vec![Series {
///         name: "Marrow blasts".to_owned(),
///         points: vec![blasts(4, 62.0, "case-1"), blasts(50, 4.0, "case-2")],
///     }],
///     reference_lines: vec![ReferenceLine { value: 5.0, label: "ELN 2022 CR: blasts < 5 %".to_owned() }],
///     milestones: vec![],
///     from: day(0),
///     to: day(180),
///     y_min: None,
/// };
/// let svg = render(&chart);
/// assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
/// assert!(svg.contains(r#"data-key="case-2""#) && svg.contains(r#"data-value="4""#));
/// assert!(svg.contains("blasts &lt; 5 %"));
/// ```
pub fn render(chart: &Chart) -> String {
    let id = element_id(&chart.id);
    let drawn = drawable_series(chart);
    if drawn.iter().all(|s| s.points.is_empty()) {
        return render_empty(chart, &id);
    }

    let (data_from, data_to) = data_range(chart, &drawn);
    let (t_lo, t_hi) = padded(data_from, data_to);
    let value_ticks = value_axis(chart, &drawn);
    let x_of = |at: i64| time_to_x(at, t_lo, t_hi);

    let (legend, legend_rows) = legend_layout(&chart.series);
    let legend_bottom = LEGEND_TOP + legend_rows as f64 * LEGEND_ROW;
    let (milestones, milestone_rows) = milestone_layout(&chart.milestones, t_lo, t_hi);
    let band_top = legend_bottom + 4.0;
    let top = band_top + milestone_rows as f64 * MILESTONE_ROW + 10.0;
    let frame =
        Frame { top, bottom: top + PLOT_HEIGHT, v_lo: value_ticks.lo(), v_hi: value_ticks.hi() };
    let height = frame.bottom + 40.0;

    let mut svg = String::new();
    open_svg(&mut svg, &id, height);
    let _ = write!(
        svg,
        "<title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(&chart.title),
        escape(&describe(chart, &drawn, (data_from, data_to), &milestones)),
    );
    let _ = write!(svg, "<rect width=\"{WIDTH}\" height=\"{}\" fill=\"{PAPER}\"/>", num(height));
    title_text(&mut svg, &chart.title);

    // Grid and labels first, data last, so results are never painted over.
    value_grid(&mut svg, &frame, &value_ticks, &chart.unit);
    let plot_width = PLOT_RIGHT - PLOT_LEFT - 2.0 * INSET;
    let date_ticks = date_ticks(t_lo, t_hi, plot_width);
    time_grid(&mut svg, &frame, &date_ticks, x_of);
    reference_lines(&mut svg, &frame, &chart.reference_lines);
    milestone_lines(&mut svg, &frame, &milestones, band_top);
    let _ = write!(
        svg,
        "<path class=\"axes\" d=\"M{left} {top}V{bottom}H{right}\" fill=\"none\" \
         stroke=\"{INK}\" stroke-width=\"1\"/>",
        left = num(PLOT_LEFT),
        top = num(frame.top),
        bottom = num(frame.bottom),
        right = num(PLOT_RIGHT),
    );
    for series in &drawn {
        series_marks(&mut svg, &frame, series, x_of);
    }
    legend_marks(&mut svg, &chart.series, &legend);
    svg.push_str("</svg>");
    svg
}

// Layout, in viewBox units. The plot's left and right edges are constants so that charts with
// the same time range line up; the left margin fits tick labels of about seven characters.
const WIDTH: f64 = 640.0;
const PLOT_LEFT: f64 = 64.0;
const PLOT_RIGHT: f64 = WIDTH - 24.0;
// Results at `from` or `to` are drawn this far inside the axes, not on them.
const INSET: f64 = 12.0;
const PLOT_HEIGHT: f64 = 170.0;
const TITLE_BASELINE: f64 = 22.0;
const LEGEND_TOP: f64 = 34.0;
const LEGEND_ROW: f64 = 18.0;
const MILESTONE_ROW: f64 = 14.0;
// At most this many staggered rows of milestone labels; a label that fits in none is left
// to its line's tooltip rather than printed over another.
const MILESTONE_ROWS: usize = 3;
// Text sizes stay at 11 or more so that a chart printed at half a page width is legible.
const TEXT_SIZE: f64 = 12.0;
const SMALL_TEXT: f64 = 11.0;
// Average advance of a character in a sans-serif face, as a share of its size; used to keep
// labels apart without measuring fonts.
const CHAR_ADVANCE: f64 = 0.6;
const INK: &str = "#1b1b1b";
const MUTED: &str = "#444444";
const GRID: &str = "#dddddd";
const PAPER: &str = "#ffffff";
const FONTS: &str = "system-ui, -apple-system, Helvetica, Arial, sans-serif";
const DAY: i64 = 86_400;

/// The plot area and the value range it shows.
struct Frame {
    top: f64,
    bottom: f64,
    v_lo: f64,
    v_hi: f64,
}

impl Frame {
    fn y(&self, value: f64) -> f64 {
        self.bottom - (value - self.v_lo) / (self.v_hi - self.v_lo) * (self.bottom - self.top)
    }
}

fn time_to_x(at: i64, t_lo: i64, t_hi: i64) -> f64 {
    let share = (at as f64 - t_lo as f64) / (t_hi as f64 - t_lo as f64);
    PLOT_LEFT + INSET + share * (PLOT_RIGHT - PLOT_LEFT - 2.0 * INSET)
}

/// A series with only the points that can be drawn, in time order.
struct Drawn<'a> {
    index: usize,
    series: &'a Series,
    points: Vec<&'a Point>,
}

fn drawable_series(chart: &Chart) -> Vec<Drawn<'_>> {
    chart
        .series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            let mut points: Vec<&Point> =
                series.points.iter().filter(|p| p.value.is_finite()).collect();
            // Stable, so results at the same instant keep the caller's order.
            points.sort_by_key(|p| p.at);
            Drawn { index, series, points }
        })
        .collect()
}

/// The caller's range, widened to every drawn result.
fn data_range(chart: &Chart, drawn: &[Drawn<'_>]) -> (i64, i64) {
    let from = chart.from.unix().min(chart.to.unix());
    let to = chart.from.unix().max(chart.to.unix());
    drawn
        .iter()
        .flat_map(|s| &s.points)
        .fold((from, to), |(lo, hi), p| (lo.min(p.at.unix()), hi.max(p.at.unix())))
}

fn padded(lo: i64, hi: i64) -> (i64, i64) {
    if hi.saturating_sub(lo) >= 2 * DAY {
        return (lo, hi);
    }
    let middle = lo + (hi - lo) / 2;
    (middle.saturating_sub(DAY), middle.saturating_add(DAY))
}

/// The value axis: it holds every result, every finite limit and every reference line, and
/// starts at `y_min` (0) unless something lies lower.
fn value_axis(chart: &Chart, drawn: &[Drawn<'_>]) -> Ticks {
    let start = chart.y_min.filter(|v| v.is_finite()).unwrap_or(0.0);
    let mut lo = start;
    let mut hi = start;
    let mut include = |v: f64| {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    };
    for point in drawn.iter().flat_map(|s| &s.points) {
        include(point.value);
        point.lower.into_iter().chain(point.upper).for_each(&mut include);
    }
    chart.reference_lines.iter().for_each(|r| include(r.value));
    if hi - lo <= 0.0 {
        hi = lo + 1.0;
    }
    // Headroom, so the highest result and its label do not sit on the frame.
    nice_ticks(lo, hi + (hi - lo) * 0.08, 5)
}

/// Evenly spaced axis values at 1, 2 or 5 × 10^k, covering `lo..=hi`.
#[derive(Debug, Clone, PartialEq)]
struct Ticks {
    values: Vec<f64>,
    decimals: usize,
}

impl Ticks {
    fn lo(&self) -> f64 {
        self.values.first().copied().unwrap_or(0.0)
    }

    fn hi(&self) -> f64 {
        self.values.last().copied().unwrap_or(1.0)
    }

    fn label(&self, value: f64) -> String {
        let text = format!("{:.*}", self.decimals, value);
        // Zero is "0" whatever the step, and never "-0" from rounding.
        if text.trim_start_matches('-').bytes().all(|b| b == b'0' || b == b'.') {
            "0".to_owned()
        } else {
            text
        }
    }
}

/// About `target` intervals of a "nice" step (1, 2 or 5 × 10^k) from below `lo` to above `hi`.
fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let span = hi - lo;
    if !lo.is_finite() || !span.is_finite() || span <= 0.0 {
        let lo = if lo.is_finite() { lo } else { 0.0 };
        return Ticks { values: vec![lo, lo + 1.0], decimals: 0 };
    }
    let rough = span / target.max(1) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= rough * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    // The tolerance keeps 0.6 / 0.2 = 2.9999… from adding a tick outside the data.
    let first = (lo / step + 1e-9).floor() as i64;
    let last = (hi / step - 1e-9).ceil() as i64;
    let values = (first..=last.max(first.saturating_add(1))).map(|k| k as f64 * step).collect();
    let decimals = if step >= 1.0 { 0 } else { (-step.log10() - 1e-9).ceil() as usize };
    Ticks { values, decimals }
}

/// A labelled instant on the time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DateTick {
    at: i64,
    label: String,
    /// Printed under the label where the year starts or changes, for day and month ticks.
    year: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Interval {
    Days(i64),
    Months(u32),
    Years(i32),
}

/// Tick intervals from fine to coarse, with their rough length in days and the widest label.
const INTERVALS: [(Interval, f64, &str); 16] = [
    (Interval::Days(1), 1.0, "30 Sep"),
    (Interval::Days(2), 2.0, "30 Sep"),
    (Interval::Days(7), 7.0, "30 Sep"),
    (Interval::Days(14), 14.0, "30 Sep"),
    (Interval::Months(1), 30.4, "Sep"),
    (Interval::Months(3), 91.3, "Sep"),
    (Interval::Years(1), 365.25, "2026"),
    (Interval::Years(2), 730.5, "2026"),
    (Interval::Years(5), 1826.0, "2026"),
    (Interval::Years(10), 3652.0, "2026"),
    (Interval::Years(20), 7305.0, "2026"),
    (Interval::Years(50), 18_262.0, "2026"),
    (Interval::Years(100), 36_525.0, "2026"),
    (Interval::Years(200), 73_050.0, "2026"),
    (Interval::Years(500), 182_625.0, "2026"),
    (Interval::Years(1000), 365_250.0, "2026"),
];

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Ticks for `lo..=hi` (unix seconds): the finest interval whose labels fit in `width`.
fn date_ticks(lo: i64, hi: i64, width: f64) -> Vec<DateTick> {
    let span_days = (hi as f64 - lo as f64) / DAY as f64;
    let fits = |(_, days, widest): &(Interval, f64, &str)| {
        let spacing = width * days / span_days;
        spacing >= widest.len() as f64 * SMALL_TEXT * CHAR_ADVANCE + 12.0
    };
    let interval = INTERVALS.iter().find(|i| fits(i)).unwrap_or(&INTERVALS[INTERVALS.len() - 1]).0;
    let mut ticks = Vec::new();
    match interval {
        Interval::Days(step) => {
            // Weekly ticks fall on Mondays; 1970-01-05, day 4 of the epoch, was a Monday.
            let phase = if step >= 7 { 4 } else { 0 };
            for day in lo.div_euclid(DAY)..=hi.div_euclid(DAY) {
                let at = day * DAY;
                if (day - phase).rem_euclid(step) == 0
                    && at >= lo
                    && let Some((_, month, d)) = calendar(at)
                {
                    let label = format!("{d} {}", month_name(month));
                    ticks.push(DateTick { at, label, year: None });
                }
            }
        }
        Interval::Months(step) => {
            let (Some((y0, m0, _)), Some((y1, m1, _))) = (calendar(lo), calendar(hi)) else {
                return ticks;
            };
            let (first, last) =
                (i64::from(y0) * 12 + i64::from(m0) - 1, i64::from(y1) * 12 + i64::from(m1) - 1);
            for index in first..=last {
                let (year, month) = (index.div_euclid(12) as i32, index.rem_euclid(12) as u32 + 1);
                if (month - 1) % step != 0 {
                    continue;
                }
                if let Some(at) = day_start(year, month, 1).filter(|at| (lo..=hi).contains(at)) {
                    ticks.push(DateTick { at, label: month_name(month).to_owned(), year: None });
                }
            }
        }
        Interval::Years(step) => {
            let (Some((y0, _, _)), Some((y1, _, _))) = (calendar(lo), calendar(hi)) else {
                return ticks;
            };
            // `Date` covers 1800–9999; outside it there is nothing to label.
            for year in y0.max(1800)..=y1.min(9999) {
                if year % step != 0 {
                    continue;
                }
                if let Some(at) = day_start(year, 1, 1).filter(|at| (lo..=hi).contains(at)) {
                    ticks.push(DateTick { at, label: year.to_string(), year: None });
                }
            }
        }
    }
    if !matches!(interval, Interval::Years(_)) {
        let mut previous = None;
        for tick in &mut ticks {
            let year = calendar(tick.at).map(|(y, _, _)| y);
            if year != previous {
                tick.year = year.map(|y| y.to_string());
            }
            previous = year;
        }
    }
    ticks
}

fn month_name(month: u32) -> &'static str {
    MONTHS[(month as usize + 11) % 12]
}

/// The UTC calendar day `at` falls on, as (year, month, day). `Date` keeps its fields private
/// and prints itself as `YYYY-MM-DD`, so the calendar arithmetic stays in one place.
fn calendar(at: i64) -> Option<(i32, u32, u32)> {
    let text = Date::of(Timestamp::from_unix(at)).to_string();
    let mut parts = text.rsplitn(3, '-');
    let day = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let year = parts.next()?.parse().ok()?;
    Some((year, month, day))
}

/// The instant (unix seconds) a UTC calendar day begins.
fn day_start(year: i32, month: u32, day: u32) -> Option<i64> {
    let date = Date::from_ymd(year, u8::try_from(month).ok()?, u8::try_from(day).ok()?)?;
    Timestamp::parse("tick", &format!("{date}T00:00Z")).ok().map(Timestamp::unix)
}

/// How a series is drawn. Shape, dash and fill tell series apart in grey print; the colour
/// only helps on screen and is dark enough to print as near-black.
struct Look {
    shape: Shape,
    dash: &'static str,
    filled: bool,
    colour: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Square => "square",
            Shape::Triangle => "triangle",
            Shape::Diamond => "diamond",
        }
    }

    /// The outline centred on the origin, of roughly equal visual weight across shapes.
    fn path(self) -> &'static str {
        match self {
            Shape::Circle => "M-4.5 0a4.5 4.5 0 1 0 9 0a4.5 4.5 0 1 0-9 0z",
            Shape::Square => "M-4 -4h8v8h-8z",
            Shape::Triangle => "M0 -5.5L5 3.5H-5z",
            Shape::Diamond => "M0 -5.5L5.5 0L0 5.5L-5.5 0z",
        }
    }
}

fn look(index: usize) -> Look {
    const SHAPES: [Shape; 4] = [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond];
    const DASHES: [&str; 4] = ["", "7 4", "2 3", "9 3 2 3"];
    // Dark, colour-blind-safe hues (near-black, blue, brown-orange, green).
    const COLOURS: [&str; 4] = ["#1b1b1b", "#0b4f8a", "#8a4200", "#1d6a45"];
    // Series 5–8 repeat the shapes with open markers and a shifted dash, so up to eight
    // series differ in at least two ways.
    let round = index / 4;
    Look {
        shape: SHAPES[index % 4],
        dash: DASHES[(index + round) % 4],
        filled: round.is_multiple_of(2),
        colour: COLOURS[index % 4],
    }
}

/// Each legend entry's (x, row).
fn legend_layout(series: &[Series]) -> (Vec<(f64, usize)>, usize) {
    let mut placed = Vec::with_capacity(series.len());
    let (mut x, mut row) = (PLOT_LEFT, 0);
    for s in series {
        let width = legend_entry_width(&s.name);
        if x + width > PLOT_RIGHT && x > PLOT_LEFT {
            x = PLOT_LEFT;
            row += 1;
        }
        placed.push((x, row));
        x += width;
    }
    let rows = if series.is_empty() { 0 } else { row + 1 };
    (placed, rows)
}

fn legend_entry_width(name: &str) -> f64 {
    34.0 + text_width(&legend_name(name), TEXT_SIZE) + 18.0
}

fn legend_name(name: &str) -> String {
    shorten(name, 48)
}

fn legend_marks(svg: &mut String, series: &[Series], placed: &[(f64, usize)]) {
    for (index, (s, (x, row))) in series.iter().zip(placed).enumerate() {
        let look = look(index);
        let y = LEGEND_TOP + *row as f64 * LEGEND_ROW + LEGEND_ROW / 2.0;
        let _ = write!(
            svg,
            "<g class=\"legend-entry\" data-series=\"{name}\" data-shape=\"{shape}\">\
             <line x1=\"{x}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{colour}\" \
             stroke-width=\"1.75\"{dash}/>\
             <path transform=\"translate({mx} {y})\" d=\"{d}\" fill=\"{fill}\" stroke=\"{colour}\" \
             stroke-width=\"1.5\"/>\
             <text x=\"{tx}\" y=\"{ty}\" fill=\"{INK}\">{label}</text></g>",
            name = escape(&s.name),
            shape = look.shape.name(),
            x = num(*x),
            x2 = num(x + 28.0),
            y = num(y),
            colour = look.colour,
            dash = dash_attr(look.dash),
            mx = num(x + 14.0),
            d = look.shape.path(),
            fill = if look.filled { look.colour } else { PAPER },
            tx = num(x + 34.0),
            ty = num(y + 4.0),
            label = escape(&legend_name(&s.name)),
        );
    }
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") }
}

/// A milestone, where its line is and where its label goes (`label` is `None` when no row had
/// room; the line then keeps the label as its tooltip only).
struct PlacedMilestone<'a> {
    milestone: &'a MilestoneLine,
    x: f64,
    text: String,
    label: Option<LabelSpot>,
}

/// A label's row above the plot and its horizontal extent.
#[derive(Debug, Clone, Copy)]
struct LabelSpot {
    row: usize,
    start: f64,
    end: f64,
    /// The label ends at its line (reads leftwards) instead of starting there.
    anchor_end: bool,
}

impl LabelSpot {
    fn text_x(&self) -> f64 {
        if self.anchor_end { self.end } else { self.start }
    }
}

/// Staggers milestone labels over up to `MILESTONE_ROWS` rows above the plot. A label never
/// overlaps another label, and no milestone line cuts through a label: a line runs down from
/// just under its own label (or from the plot's top when unlabelled).
///
/// Labels are placed greedily, once from the earliest milestone and once from the latest, and
/// the order that labels more of them wins: late milestones crowd against the right edge, where
/// labels must read leftwards, and are better placed first.
fn milestone_layout(
    milestones: &[MilestoneLine],
    t_lo: i64,
    t_hi: i64,
) -> (Vec<PlacedMilestone<'_>>, usize) {
    let mut shown: Vec<&MilestoneLine> =
        milestones.iter().filter(|m| (t_lo..=t_hi).contains(&m.at.unix())).collect();
    shown.sort_by_key(|m| m.at);
    let place = |latest_first: bool| {
        let mut placed: Vec<PlacedMilestone<'_>> = shown
            .iter()
            .map(|milestone| PlacedMilestone {
                milestone,
                x: time_to_x(milestone.at.unix(), t_lo, t_hi),
                text: shorten(&milestone.label, 28),
                label: None,
            })
            .collect();
        let mut order: Vec<usize> = (0..placed.len()).collect();
        if latest_first {
            order.reverse();
        }
        // Only labelled milestones constrain others, and at most a few hundred fit.
        let mut labelled: Vec<(f64, LabelSpot)> = Vec::new();
        for i in order {
            let (x, width) = (placed[i].x, text_width(&placed[i].text, SMALL_TEXT));
            let rightwards =
                LabelSpot { row: 0, start: x + 3.0, end: x + 3.0 + width, anchor_end: false };
            let leftwards =
                LabelSpot { row: 0, start: x - 3.0 - width, end: x - 3.0, anchor_end: true };
            let spot = (0..MILESTONE_ROWS)
                .flat_map(|row| [LabelSpot { row, ..rightwards }, LabelSpot { row, ..leftwards }])
                .find(|spot| {
                    spot.start >= 4.0
                        && spot.end <= WIDTH - 4.0
                        && labelled
                            .iter()
                            .all(|(other_x, other)| label_fits(x, spot, *other_x, other))
                });
            if let Some(spot) = spot {
                labelled.push((x, spot));
                placed[i].label = Some(spot);
            }
        }
        placed
    };
    let labelled =
        |placed: &[PlacedMilestone<'_>]| placed.iter().filter(|m| m.label.is_some()).count();
    let earliest_first = place(false);
    let latest_first = place(true);
    let placed = if labelled(&latest_first) > labelled(&earliest_first) {
        latest_first
    } else {
        earliest_first
    };
    let rows = placed.iter().filter_map(|m| m.label.map(|l| l.row + 1)).max().unwrap_or(0);
    (placed, rows)
}

/// Whether a label at `spot` for the line at `x` can sit beside another labelled milestone.
fn label_fits(x: f64, spot: &LabelSpot, other_x: f64, other: &LabelSpot) -> bool {
    // A line passes the rows below its own label.
    let crosses =
        |line_x: f64, label: &LabelSpot| (label.start - 3.0..=label.end + 3.0).contains(&line_x);
    if other.row == spot.row {
        spot.end + 8.0 <= other.start || spot.start >= other.end + 8.0
    } else if other.row < spot.row {
        !crosses(other_x, spot)
    } else {
        !crosses(x, other)
    }
}

fn milestone_lines(svg: &mut String, frame: &Frame, placed: &[PlacedMilestone<'_>], band_top: f64) {
    let baseline = |row: usize| band_top + (row as f64 + 1.0) * MILESTONE_ROW - 3.0;
    for m in placed {
        // A labelled line starts just under its label; the others at the top of the plot.
        let line_top = m.label.map_or(frame.top, |l| baseline(l.row) - SMALL_TEXT + 1.0);
        let _ = write!(
            svg,
            "<g class=\"milestone\" data-at=\"{at}\"><title>{label}, {date}</title>\
             <line x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{y2}\" stroke=\"{MUTED}\" \
             stroke-width=\"1.2\" stroke-dasharray=\"1.5 3\" stroke-linecap=\"round\"/></g>",
            at = m.milestone.at.to_rfc3339(),
            label = escape(&m.milestone.label),
            date = Date::of(m.milestone.at),
            x = num(m.x),
            y1 = num(line_top),
            y2 = num(frame.bottom),
        );
    }
    // Labels after all lines, with a halo: the layout keeps lines off labels by estimated
    // width, and the halo hides a line where a font runs wider than estimated.
    for m in placed {
        let Some(label) = m.label else { continue };
        let _ = write!(
            svg,
            "<text class=\"milestone-label\" x=\"{x}\" y=\"{y}\" font-size=\"{SMALL_TEXT}\" \
             fill=\"{INK}\" stroke=\"{PAPER}\" stroke-width=\"3\" paint-order=\"stroke\" \
             stroke-linejoin=\"round\"{anchor}>{text}</text>",
            x = num(label.text_x()),
            y = num(baseline(label.row)),
            anchor = if label.anchor_end { " text-anchor=\"end\"" } else { "" },
            text = escape(&m.text),
        );
    }
}

fn value_grid(svg: &mut String, frame: &Frame, ticks: &Ticks, unit: &str) {
    for &value in &ticks.values {
        let y = num(frame.y(value));
        let _ = write!(
            svg,
            "<line x1=\"{l}\" y1=\"{y}\" x2=\"{r}\" y2=\"{y}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
             <text class=\"value-tick\" x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\" \
             font-size=\"{SMALL_TEXT}\" fill=\"{INK}\">{label}</text>",
            l = num(PLOT_LEFT),
            r = num(PLOT_RIGHT),
            tx = num(PLOT_LEFT - 6.0),
            ty = num(frame.y(value) + 4.0),
            label = ticks.label(value),
        );
    }
    if !unit.trim().is_empty() {
        // Turned upright along the axis, just clear of the widest tick label.
        let widest = ticks.values.iter().map(|v| text_width(&ticks.label(*v), SMALL_TEXT));
        let widest = widest.fold(0.0, f64::max);
        let baseline = (PLOT_LEFT - 6.0 - widest - 7.0).max(SMALL_TEXT + 2.0);
        let middle = (frame.top + frame.bottom) / 2.0;
        let _ = write!(
            svg,
            "<text class=\"unit\" transform=\"rotate(-90)\" x=\"{x}\" y=\"{y}\" \
             text-anchor=\"middle\" fill=\"{INK}\">{unit}</text>",
            x = num(-middle),
            y = num(baseline),
            unit = escape(unit),
        );
    }
}

fn time_grid(svg: &mut String, frame: &Frame, ticks: &[DateTick], x_of: impl Fn(i64) -> f64) {
    for tick in ticks {
        let x = num(x_of(tick.at));
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
             <line x1=\"{x}\" y1=\"{bottom}\" x2=\"{x}\" y2=\"{mark}\" stroke=\"{INK}\" stroke-width=\"1\"/>\
             <text class=\"date-tick\" data-at=\"{at}\" x=\"{x}\" y=\"{label_y}\" text-anchor=\"middle\" \
             font-size=\"{SMALL_TEXT}\" fill=\"{INK}\">{label}</text>",
            top = num(frame.top),
            bottom = num(frame.bottom),
            mark = num(frame.bottom + 4.0),
            at = Timestamp::from_unix(tick.at).to_rfc3339(),
            label_y = num(frame.bottom + 16.0),
            label = escape(&tick.label),
        );
        if let Some(year) = &tick.year {
            let _ = write!(
                svg,
                "<text class=\"date-tick-year\" x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" \
                 font-size=\"{SMALL_TEXT}\" font-weight=\"600\" fill=\"{INK}\">{year}</text>",
                y = num(frame.bottom + 30.0),
            );
        }
    }
}

fn reference_lines(svg: &mut String, frame: &Frame, lines: &[ReferenceLine]) {
    let mut shown: Vec<&ReferenceLine> = lines.iter().filter(|r| r.value.is_finite()).collect();
    shown.sort_by(|a, b| b.value.total_cmp(&a.value));
    let max_chars = ((PLOT_RIGHT - PLOT_LEFT - 8.0) / (SMALL_TEXT * CHAR_ADVANCE)) as usize;
    // Labels sit above their line at the right end; one that would touch the previous label
    // moves to the left end, and failing that below its line.
    let (mut last_right, mut last_left) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for line in shown {
        let y = frame.y(line.value);
        let (x, anchor, text_y) = if y - 4.0 - last_right >= 14.0 {
            last_right = y - 4.0;
            (PLOT_RIGHT - 4.0, "end", y - 4.0)
        } else if y - 4.0 - last_left >= 14.0 {
            last_left = y - 4.0;
            (PLOT_LEFT + 4.0, "start", y - 4.0)
        } else {
            last_right = y + 13.0;
            (PLOT_RIGHT - 4.0, "end", y + 13.0)
        };
        let _ = write!(
            svg,
            "<g class=\"reference-line\" data-value=\"{value}\">\
             <line x1=\"{l}\" y1=\"{y}\" x2=\"{r}\" y2=\"{y}\" stroke=\"{MUTED}\" stroke-width=\"1.2\" \
             stroke-dasharray=\"6 4\"/>\
             <text x=\"{x}\" y=\"{ty}\" text-anchor=\"{anchor}\" font-size=\"{SMALL_TEXT}\" \
             fill=\"{INK}\" stroke=\"{PAPER}\" stroke-width=\"3\" paint-order=\"stroke\" \
             stroke-linejoin=\"round\">{label}</text></g>",
            value = line.value,
            l = num(PLOT_LEFT),
            r = num(PLOT_RIGHT),
            y = num(y),
            x = num(x),
            ty = num(text_y),
            label = escape(&shorten(&line.label, max_chars)),
        );
    }
}

fn series_marks(svg: &mut String, frame: &Frame, drawn: &Drawn<'_>, x_of: impl Fn(i64) -> f64) {
    if drawn.points.is_empty() {
        return;
    }
    let look = look(drawn.index);
    let name = escape(&drawn.series.name);
    let _ = write!(svg, "<g class=\"series\" data-series=\"{name}\">");
    if drawn.points.len() > 1 {
        let points: Vec<String> = drawn
            .points
            .iter()
            .map(|p| format!("{},{}", num(x_of(p.at.unix())), num(frame.y(p.value))))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"trend\" points=\"{}\" fill=\"none\" stroke=\"{}\" \
             stroke-width=\"1.75\" stroke-linejoin=\"round\" stroke-linecap=\"round\"{}/>",
            points.join(" "),
            look.colour,
            dash_attr(look.dash),
        );
    }
    for point in &drawn.points {
        let x = x_of(point.at.unix());
        error_bar(svg, frame, point, x, look.colour);
        let _ = write!(
            svg,
            "<path class=\"point\" data-series=\"{name}\" data-key=\"{key}\" data-at=\"{at}\" \
             data-value=\"{value}\"",
            key = escape(&point.key),
            at = point.at.to_rfc3339(),
            value = point.value,
        );
        for (attr, limit) in [("data-lower", point.lower), ("data-upper", point.upper)] {
            if let Some(limit) = limit.filter(|l| !l.is_nan()) {
                let _ = write!(svg, " {attr}=\"{limit}\"");
            }
        }
        let _ = write!(
            svg,
            " data-shape=\"{shape}\" transform=\"translate({x} {y})\" d=\"{d}\" fill=\"{fill}\" \
             stroke=\"{colour}\" stroke-width=\"1.5\"><title>{label}</title></path>",
            shape = look.shape.name(),
            x = num(x),
            y = num(frame.y(point.value)),
            d = look.shape.path(),
            fill = if look.filled { look.colour } else { PAPER },
            colour = look.colour,
            label = escape(&point.label),
        );
    }
    svg.push_str("</g>");
}

/// A vertical line from the lower to the upper limit with caps. A limit beyond the value axis
/// (an infinite upper limit, say) is cut at the plot's edge and ends in an open arrow instead
/// of a cap, so the reader sees the interval goes on.
fn error_bar(svg: &mut String, frame: &Frame, point: &Point, x: f64, colour: &str) {
    // A NaN limit, an upper limit of minus infinity or a lower one of plus infinity bounds
    // nothing (NaN fails every comparison).
    let upper = point.upper.filter(|u| *u > f64::NEG_INFINITY);
    let lower = point.lower.filter(|l| *l < f64::INFINITY);
    if upper.is_none() && lower.is_none() {
        return;
    }
    let centre = frame.y(point.value);
    let mut d = String::new();
    let mut clipped = Vec::new();
    let mut end = |limit: Option<f64>, beyond: bool, edge: f64, towards: f64| {
        let Some(limit) = limit else { return };
        let (y, cut) = if beyond { (edge, true) } else { (frame.y(limit), false) };
        let _ = write!(d, "M{} {}V{}", num(x), num(centre), num(y));
        if cut {
            // An open chevron pointing out of the plot.
            let _ = write!(
                d,
                "M{} {}L{} {}L{} {}",
                num(x - 4.0),
                num(y + towards * 5.0),
                num(x),
                num(y),
                num(x + 4.0),
                num(y + towards * 5.0)
            );
        } else {
            let _ = write!(d, "M{} {}H{}", num(x - 4.0), num(y), num(x + 4.0));
        }
    };
    let upper_cut = upper.is_some_and(|u| u > frame.v_hi);
    let lower_cut = lower.is_some_and(|l| l < frame.v_lo);
    end(upper, upper_cut, frame.top, 1.0);
    end(lower, lower_cut, frame.bottom, -1.0);
    if upper_cut {
        clipped.push("upper");
    }
    if lower_cut {
        clipped.push("lower");
    }
    let clipped = if clipped.is_empty() {
        String::new()
    } else {
        format!(" data-clipped=\"{}\"", clipped.join(" "))
    };
    let _ = write!(
        svg,
        "<path class=\"limits\" data-key=\"{key}\"{clipped} d=\"{d}\" fill=\"none\" \
         stroke=\"{colour}\" stroke-width=\"1.2\"/>",
        key = escape(&point.key),
    );
}

/// The trend in words for the `<desc>`: range, then per series the number of results and the
/// first, last and highest values with dates, then reference lines and the milestones shown.
fn describe(
    chart: &Chart,
    drawn: &[Drawn<'_>],
    (from, to): (i64, i64),
    milestones: &[PlacedMilestone<'_>],
) -> String {
    let unit = chart.unit.trim();
    let with_unit = |v: f64| {
        if unit.is_empty() { short_number(v) } else { format!("{} {unit}", short_number(v)) }
    };
    let on = |p: &Point| format!("{} on {}", with_unit(p.value), Date::of(p.at));
    let mut text = format!(
        "Line chart{} from {} to {}.",
        if unit.is_empty() { String::new() } else { format!(" in {unit}") },
        Date::of(Timestamp::from_unix(from)),
        Date::of(Timestamp::from_unix(to)),
    );
    for s in drawn {
        let name = s.series.name.trim();
        let _ = match s.points.as_slice() {
            [] => write!(text, " {name}: no results."),
            [only] => write!(text, " {name}: 1 result, {}.", on(only)),
            [first, .., last] => {
                let _ = write!(
                    text,
                    " {name}: {} results, from {} to {}",
                    s.points.len(),
                    on(first),
                    on(last)
                );
                if s.points.len() > 2 {
                    // The first highest, so a plateau is reported where it began.
                    let highest = s
                        .points
                        .iter()
                        .copied()
                        .reduce(|best, p| if p.value > best.value { p } else { best });
                    if let Some(highest) = highest {
                        let _ = write!(text, "; highest {}", on(highest));
                    }
                }
                write!(text, ".")
            }
        };
    }
    let lines: Vec<String> = chart
        .reference_lines
        .iter()
        .filter(|r| r.value.is_finite())
        .map(|r| format!("{} at {}", r.label.trim(), with_unit(r.value)))
        .collect();
    if !lines.is_empty() {
        let _ = write!(text, " Reference lines: {}.", lines.join("; "));
    }
    // Already in time order.
    let milestones: Vec<String> = milestones
        .iter()
        .map(|m| format!("{} on {}", m.milestone.label.trim(), Date::of(m.milestone.at)))
        .collect();
    if !milestones.is_empty() {
        let _ = write!(text, " Milestones: {}.", milestones.join("; "));
    }
    text
}

fn render_empty(chart: &Chart, id: &str) -> String {
    let mut svg = String::new();
    let height = 120.0;
    open_svg(&mut svg, id, height);
    let _ = write!(
        svg,
        "<title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">No results yet.</desc>\
         <rect width=\"{WIDTH}\" height=\"{height}\" fill=\"{PAPER}\"/>",
        title = escape(&chart.title),
    );
    title_text(&mut svg, &chart.title);
    let _ = write!(
        svg,
        "<text class=\"empty\" x=\"{x}\" y=\"74\" text-anchor=\"middle\" fill=\"{MUTED}\">\
         No results yet</text></svg>",
        x = num(WIDTH / 2.0),
    );
    svg
}

fn open_svg(svg: &mut String, id: &str, height: f64) {
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" class=\"chart\" \
         viewBox=\"0 0 {WIDTH} {h}\" width=\"100%\" preserveAspectRatio=\"xMidYMin meet\" \
         role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"{FONTS}\" \
         font-size=\"{TEXT_SIZE}\">",
        h = num(height),
    );
}

fn title_text(svg: &mut String, title: &str) {
    let _ = write!(
        svg,
        "<text class=\"chart-title\" x=\"{x}\" y=\"{TITLE_BASELINE}\" font-size=\"15\" \
         font-weight=\"600\" fill=\"{INK}\">{title}</text>",
        x = num(PLOT_LEFT),
        title = escape(&shorten(title, 64)),
    );
}

/// `raw` made safe as an element id: ASCII letters, digits, `-` and `_`, starting with a letter.
fn element_id(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    if cleaned.starts_with(|c: char| c.is_ascii_alphabetic()) {
        cleaned
    } else {
        format!("chart-{cleaned}")
    }
}

/// Text as XML character data or attribute value. Line breaks become spaces (SVG text is one
/// line) and characters XML 1.0 forbids become U+FFFD, so any label keeps the SVG well formed.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `max_chars` characters, with an ellipsis when cut.
fn shorten(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * CHAR_ADVANCE
}

/// A coordinate with at most one decimal; never `-0` and never a non-number.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    // Adding 0.0 turns -0.0 into 0.0.
    let rounded = (v * 10.0).round() / 10.0 + 0.0;
    format!("{rounded}")
}

/// A value for people: four significant figures, without trailing zeros (12, 4.75, 0.123).
fn short_number(v: f64) -> String {
    let decimals =
        if v.abs() < 1e-12 { 0 } else { (3 - v.abs().log10().floor() as i32).clamp(0, 6) };
    let text = format!("{:.*}", decimals as usize, v);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" { "0".to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- A small XML reader: enough to check well-formedness and to read attributes back ----

    #[derive(Debug)]
    struct Element {
        name: String,
        attrs: Vec<(String, String)>,
    }

    impl Element {
        fn attr(&self, name: &str) -> Option<&str> {
            self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        }

        fn has_class(&self, class: &str) -> bool {
            self.attr("class").is_some_and(|c| c.split(' ').any(|c| c == class))
        }
    }

    fn check_entities(text: &str) -> Result<(), String> {
        for (i, _) in text.match_indices('&') {
            let rest = &text[i + 1..];
            let named =
                ["amp;", "lt;", "gt;", "quot;", "apos;"].iter().any(|e| rest.starts_with(e));
            let numeric = rest.strip_prefix('#').and_then(|r| r.split_once(';')).is_some_and(
                |(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
            );
            if !named && !numeric {
                return Err(format!("bare & in {text:?}"));
            }
        }
        Ok(())
    }

    fn is_name_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
    }

    /// Every start tag of `svg`, after checking that the document is well formed: one root,
    /// balanced tags, double-quoted unique attributes, and `&` only in entities.
    fn parse(svg: &str) -> Result<Vec<Element>, String> {
        let mut elements = Vec::new();
        let mut open: Vec<String> = Vec::new();
        let mut roots = 0;
        let mut rest = svg;
        loop {
            let Some(lt) = rest.find('<') else {
                if !open.is_empty() || !rest.trim().is_empty() {
                    return Err(format!("unclosed {open:?} or text after the root: {rest:?}"));
                }
                break;
            };
            let text = &rest[..lt];
            if open.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            check_entities(text)?;
            rest = &rest[lt + 1..];
            if let Some(after) = rest.strip_prefix('/') {
                let gt = after.find('>').ok_or("unterminated end tag")?;
                let name = &after[..gt];
                match open.pop() {
                    Some(expected) if expected == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                rest = &after[gt + 1..];
                continue;
            }
            let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            let name = rest[..name_len].to_owned();
            if name.is_empty() {
                return Err(format!("a tag without a name at {:?}", &rest[..rest.len().min(20)]));
            }
            if open.is_empty() {
                roots += 1;
            }
            rest = &rest[name_len..];
            let mut attrs: Vec<(String, String)> = Vec::new();
            loop {
                let trimmed = rest.trim_start();
                let spaced = trimmed.len() < rest.len();
                rest = trimmed;
                if let Some(after) = rest.strip_prefix("/>") {
                    rest = after;
                    break;
                }
                if let Some(after) = rest.strip_prefix('>') {
                    rest = after;
                    open.push(name.clone());
                    break;
                }
                if !spaced {
                    return Err(format!("<{name}>: attributes must be separated by spaces"));
                }
                let attr_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
                let attr = rest[..attr_len].to_owned();
                let after = rest[attr_len..]
                    .strip_prefix("=\"")
                    .ok_or_else(|| format!("<{name}>: {attr:?} is not followed by =\""))?;
                let quote = after.find('"').ok_or_else(|| format!("<{name}>: unclosed {attr}"))?;
                let value = &after[..quote];
                if attr.is_empty() || value.contains('<') {
                    return Err(format!("<{name}>: bad attribute {attr:?}={value:?}"));
                }
                check_entities(value)?;
                if attrs.iter().any(|(a, _)| *a == attr) {
                    return Err(format!("<{name}>: {attr} twice"));
                }
                attrs.push((attr, value.to_owned()));
                rest = &after[quote + 1..];
            }
            elements.push(Element { name, attrs });
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(elements)
    }

    fn well_formed(svg: &str) -> Vec<Element> {
        parse(svg).unwrap_or_else(|e| panic!("not well formed: {e}\n{svg}"))
    }

    #[test]
    fn the_checker_refuses_broken_markup() {
        assert!(parse("<svg><g></svg>").is_err());
        assert!(parse("<svg a='1'/>").is_err());
        assert!(parse("<svg a=\"1\" a=\"2\"/>").is_err());
        assert!(parse("<svg>a & b</svg>").is_err());
        assert!(parse("<svg/><svg/>").is_err());
        assert!(parse("<svg a=\"1\"b=\"2\"/>").is_err());
        assert!(parse("<svg a=\"x&amp;y\"><title>&lt;ok&gt;</title></svg>").is_ok());
    }

    // ---- Fixtures: synthetic results ----

    fn at(date: &str) -> Timestamp {
        Timestamp::parse("at", &format!("{date}T09:00Z")).unwrap()
    }

    fn point(key: &str, date: &str, value: f64) -> Point {
        Point {
            at: at(date),
            value,
            lower: None,
            upper: None,
            key: key.to_owned(),
            label: format!("{value} %, {date}"),
        }
    }

    fn with_limits(mut p: Point, lower: f64, upper: f64) -> Point {
        p.lower = Some(lower);
        p.upper = Some(upper);
        p
    }

    /// Marrow and blood blasts through induction and transplant, in the caller's (shuffled) order.
    fn blasts_chart() -> Chart {
        Chart {
            id: "blasts".to_owned(),
            title: "Blasts".to_owned(),
            unit: "%".to_owned(),
            series: vec![
                Series {
                    name: "Marrow blasts".to_owned(),
                    points: vec![
                        with_limits(point("case-2", "2026-02-20", 4.0), 2.6, 5.9),
                        with_limits(point("case-1", "2026-01-05", 62.0), 57.6, 66.2),
                        with_limits(point("case-3", "2026-05-02", 1.5), 0.7, 2.8),
                    ],
                },
                Series {
                    name: "Blood blasts".to_owned(),
                    points: vec![
                        point("count-1", "2026-01-04", 35.0),
                        point("count-2", "2026-02-19", 0.5),
                    ],
                },
            ],
            reference_lines: vec![ReferenceLine {
                value: 5.0,
                label: "ELN 2022 CR: blasts < 5 %".to_owned(),
            }],
            milestones: vec![
                MilestoneLine { at: at("2026-01-08"), label: "Induction".to_owned() },
                MilestoneLine { at: at("2026-04-01"), label: "Allogeneic transplant".to_owned() },
            ],
            from: at("2026-01-01"),
            to: at("2026-06-30"),
            y_min: None,
        }
    }

    fn points(elements: &[Element]) -> Vec<&Element> {
        elements.iter().filter(|e| e.has_class("point")).collect()
    }

    fn centre(e: &Element) -> (f64, f64) {
        let t = e.attr("transform").unwrap();
        let inner = t.strip_prefix("translate(").unwrap().strip_suffix(')').unwrap();
        let (x, y) = inner.split_once(' ').unwrap();
        (x.parse().unwrap(), y.parse().unwrap())
    }

    // ---- The chart ----

    #[test]
    fn a_chart_is_one_accessible_svg_with_title_and_description() {
        let svg = render(&blasts_chart());
        let elements = well_formed(&svg);
        let root = &elements[0];
        assert_eq!(root.name, "svg");
        assert_eq!(root.attr("role"), Some("img"));
        assert_eq!(root.attr("aria-labelledby"), Some("blasts-title blasts-desc"));
        assert!(root.attr("viewBox").unwrap().starts_with("0 0 640 "));
        assert!(svg.contains("<title id=\"blasts-title\">Blasts</title>"));
        let desc = svg.split("<desc id=\"blasts-desc\">").nth(1).unwrap().split("</desc>").next();
        let desc = desc.unwrap();
        assert!(desc.contains("Line chart in % from 2026-01-01 to 2026-06-30."), "{desc}");
        assert!(
            desc.contains(
                "Marrow blasts: 3 results, from 62 % on 2026-01-05 to 1.5 % on 2026-05-02; \
                 highest 62 % on 2026-01-05."
            ),
            "{desc}"
        );
        assert!(
            desc.contains(
                "Blood blasts: 2 results, from 35 % on 2026-01-04 to 0.5 % on 2026-02-19."
            )
        );
        assert!(desc.contains("ELN 2022 CR: blasts &lt; 5 % at 5 %"), "{desc}");
        assert!(
            desc.contains(
                "Milestones: Induction on 2026-01-08; Allogeneic transplant on 2026-04-01."
            )
        );
        assert!(!svg.contains("<style"), "no CSS that would leak into the page");
    }

    #[test]
    fn the_same_chart_renders_to_the_same_bytes() {
        assert_eq!(render(&blasts_chart()), render(&blasts_chart()));
    }

    #[test]
    fn every_point_carries_its_input_as_data_attributes() {
        let chart = blasts_chart();
        let svg = render(&chart);
        let elements = well_formed(&svg);
        let drawn = points(&elements);
        assert_eq!(drawn.len(), 5);
        for series in &chart.series {
            for p in &series.points {
                let e = drawn
                    .iter()
                    .find(|e| e.attr("data-key") == Some(p.key.as_str()))
                    .unwrap_or_else(|| panic!("no point for {}", p.key));
                assert_eq!(e.attr("data-series"), Some(series.name.as_str()));
                assert_eq!(e.attr("data-at"), Some(p.at.to_rfc3339().as_str()));
                let value: f64 = e.attr("data-value").unwrap().parse().unwrap();
                assert_eq!(value.to_bits(), p.value.to_bits(), "the value round-trips exactly");
                assert_eq!(e.attr("data-lower"), p.lower.map(|l| l.to_string()).as_deref());
                assert_eq!(e.attr("data-upper"), p.upper.map(|u| u.to_string()).as_deref());
            }
        }
        assert!(svg.contains("<title>62 %, 2026-01-05</title>"), "the label is the tooltip");
    }

    #[test]
    fn values_that_do_not_round_trip_in_short_form_still_round_trip() {
        let mut chart = blasts_chart();
        chart.series[0].points[0].value = 0.1 + 0.2;
        let svg = render(&chart);
        let elements = well_formed(&svg);
        let e =
            points(&elements).into_iter().find(|e| e.attr("data-key") == Some("case-2")).unwrap();
        assert_eq!(e.attr("data-value"), Some("0.30000000000000004"));
    }

    #[test]
    fn later_results_lie_further_right_and_higher_values_higher_up() {
        let svg = render(&blasts_chart());
        let elements = well_formed(&svg);
        let mut marrow: Vec<(String, f64, f64, f64)> = points(&elements)
            .into_iter()
            .filter(|e| e.attr("data-series") == Some("Marrow blasts"))
            .map(|e| {
                let (x, y) = centre(e);
                (
                    e.attr("data-at").unwrap().to_owned(),
                    e.attr("data-value").unwrap().parse().unwrap(),
                    x,
                    y,
                )
            })
            .collect();
        marrow.sort_by(|a, b| a.0.cmp(&b.0));
        for pair in marrow.windows(2) {
            assert!(pair[0].2 < pair[1].2, "x grows with time: {pair:?}");
        }
        let all: Vec<(f64, f64)> = points(&elements)
            .into_iter()
            .map(|e| (e.attr("data-value").unwrap().parse().unwrap(), centre(e).1))
            .collect();
        for a in &all {
            for b in &all {
                if a.0 > b.0 {
                    assert!(a.1 < b.1, "a higher value sits higher (smaller y): {a:?} {b:?}");
                }
            }
        }
        // The line joins the marrow results in time order, whatever order they came in.
        let trend = elements.iter().find(|e| e.has_class("trend")).unwrap();
        let xs: Vec<f64> = trend
            .attr("points")
            .unwrap()
            .split(' ')
            .map(|xy| xy.split_once(',').unwrap().0.parse().unwrap())
            .collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    }

    #[test]
    fn series_differ_by_shape_and_the_legend_names_each_with_its_shape() {
        let svg = render(&blasts_chart());
        let elements = well_formed(&svg);
        let legend: Vec<(&str, &str)> = elements
            .iter()
            .filter(|e| e.has_class("legend-entry"))
            .map(|e| (e.attr("data-series").unwrap(), e.attr("data-shape").unwrap()))
            .collect();
        assert_eq!(legend, [("Marrow blasts", "circle"), ("Blood blasts", "square")]);
        for e in points(&elements) {
            let expected =
                if e.attr("data-series") == Some("Marrow blasts") { "circle" } else { "square" };
            assert_eq!(e.attr("data-shape"), Some(expected));
        }
        let looks: Vec<(Shape, &str, bool)> =
            (0..8).map(|i| (look(i).shape, look(i).dash, look(i).filled)).collect();
        for (i, a) in looks.iter().enumerate() {
            for b in &looks[i + 1..] {
                let differences =
                    [a.0 != b.0, a.1 != b.1, a.2 != b.2].iter().filter(|d| **d).count();
                assert!(
                    differences >= 2,
                    "the first eight series differ in two ways besides colour"
                );
            }
        }
    }

    #[test]
    fn limits_are_drawn_as_error_bars_with_caps() {
        let svg = render(&blasts_chart());
        let elements = well_formed(&svg);
        let bars: Vec<&Element> = elements.iter().filter(|e| e.has_class("limits")).collect();
        let keys: Vec<&str> = bars.iter().map(|e| e.attr("data-key").unwrap()).collect();
        assert_eq!(
            keys,
            ["case-1", "case-2", "case-3"],
            "one bar per result with limits, in time order"
        );
        for bar in bars {
            assert_eq!(bar.attr("data-clipped"), None);
            assert_eq!(bar.attr("d").unwrap().matches('H').count(), 2, "a cap at each end");
        }
    }

    #[test]
    fn an_infinite_upper_limit_is_cut_at_the_top_with_an_arrow() {
        let mut chart = blasts_chart();
        chart.series[0].points.push(with_limits(
            point("case-4", "2026-06-01", 0.0),
            0.0,
            f64::INFINITY,
        ));
        let svg = render(&chart);
        let elements = well_formed(&svg);
        let bar =
            elements.iter().find(|e| e.attr("data-key") == Some("case-4") && e.has_class("limits"));
        let bar = bar.unwrap();
        assert_eq!(bar.attr("data-clipped"), Some("upper"));
        let d = bar.attr("d").unwrap();
        assert!(d.contains('L'), "an arrow head: {d}");
        let marker = points(&elements).into_iter().find(|e| e.attr("data-key") == Some("case-4"));
        assert_eq!(marker.unwrap().attr("data-upper"), Some("inf"));
        // The axis still fits the finite results (62 % → 70), not infinity.
        let top_tick = elements.iter().filter(|e| e.has_class("value-tick")).count();
        assert!(top_tick < 12, "{top_tick} ticks");
        assert!(svg.contains(">80</text>") && !svg.contains(">100</text>"), "{svg}");
        for e in &elements {
            for (name, value) in &e.attrs {
                if !name.starts_with("data-") {
                    assert!(!value.contains("inf") && !value.contains("NaN"), "{name}={value}");
                }
            }
        }
    }

    #[test]
    fn results_that_are_not_numbers_are_left_out() {
        let mut chart = blasts_chart();
        chart.series[1].points.push(point("count-bad", "2026-03-01", f64::NAN));
        chart.series[1].points.push(point("count-inf", "2026-03-02", f64::INFINITY));
        chart.series[0].points[0].lower = Some(f64::NAN);
        let svg = render(&chart);
        let elements = well_formed(&svg);
        assert!(!svg.contains("NaN"), "{svg}");
        assert_eq!(points(&elements).len(), 5);
        assert!(!svg.contains("count-bad") && !svg.contains("count-inf"));
        assert!(svg.contains("Blood blasts: 2 results"));
    }

    #[test]
    fn reference_lines_and_milestones_carry_their_labels() {
        let svg = render(&blasts_chart());
        let elements = well_formed(&svg);
        let reference = elements.iter().find(|e| e.has_class("reference-line")).unwrap();
        assert_eq!(reference.attr("data-value"), Some("5"));
        assert!(svg.contains(">ELN 2022 CR: blasts &lt; 5 %</text>"));
        let milestones: Vec<&str> = elements
            .iter()
            .filter(|e| e.has_class("milestone"))
            .map(|e| e.attr("data-at").unwrap())
            .collect();
        assert_eq!(milestones, ["2026-01-08T09:00:00Z", "2026-04-01T09:00:00Z"]);
        assert!(svg.contains(">Induction</text>"));
        assert!(svg.contains(">Allogeneic transplant</text>"));
        assert!(svg.contains("<title>Allogeneic transplant, 2026-04-01</title>"));
    }

    #[test]
    fn many_milestones_are_staggered_and_never_overprint() {
        let mut chart = blasts_chart();
        let days = (1..=28).map(|day| format!("2026-02-{day:02}"));
        let late = (20..=30).map(|day| format!("2026-06-{day:02}"));
        chart.milestones = days
            .chain(late)
            .map(|date| MilestoneLine { at: at(&date), label: format!("Cycle on {date}") })
            .collect();
        let svg = render(&chart);
        let elements = well_formed(&svg);
        assert_eq!(elements.iter().filter(|e| e.has_class("milestone")).count(), 39);
        let label_count = elements.iter().filter(|e| e.has_class("milestone-label")).count();
        assert!(
            svg.contains("Milestones: Cycle on 2026-02-01 on 2026-02-01;"),
            "all are described"
        );
        let (placed, rows) =
            milestone_layout(&chart.milestones, chart.from.unix(), chart.to.unix());
        assert!(rows <= MILESTONE_ROWS);
        let labelled = placed.iter().filter(|m| m.label.is_some()).count();
        assert_eq!(label_count, labelled);
        assert!(labelled >= 4, "several are labelled");
        assert!(
            placed.iter().any(|m| m.label.is_some_and(|l| l.anchor_end)),
            "labels near the right edge read leftwards"
        );
        for m in &placed {
            let Some(label) = m.label else { continue };
            assert!((label.end - label.start - text_width(&m.text, SMALL_TEXT)).abs() < 1e-9);
            assert!(label.start >= 0.0 && label.end <= WIDTH, "{label:?} leaves the chart");
            for other in placed.iter().filter(|o| !std::ptr::eq(*o, m)) {
                let Some(other_label) = other.label else { continue };
                if other_label.row == label.row {
                    assert!(
                        other_label.end < label.start || other_label.start > label.end,
                        "two labels overlap: {label:?} {other_label:?}"
                    );
                }
                // A labelled line runs down from its own row; an unlabelled one from the plot.
                if other_label.row < label.row {
                    assert!(
                        !(label.start..=label.end).contains(&other.x),
                        "a line cuts {:?}",
                        m.text
                    );
                }
            }
        }
    }

    #[test]
    fn thousands_of_milestones_still_render() {
        let mut chart = blasts_chart();
        chart.milestones = (0..3000)
            .map(|i| MilestoneLine {
                at: chart.from.plus_seconds(i * 5000),
                label: format!("Dose {i}"),
            })
            .collect();
        let svg = render(&chart);
        let elements = well_formed(&svg);
        assert_eq!(elements.iter().filter(|e| e.has_class("milestone")).count(), 3000);
    }

    #[test]
    fn milestones_outside_the_range_are_neither_drawn_nor_described() {
        let mut chart = blasts_chart();
        chart.milestones.push(MilestoneLine { at: at("2019-05-01"), label: "Old".to_owned() });
        let svg = render(&chart);
        let elements = well_formed(&svg);
        assert_eq!(elements.iter().filter(|e| e.has_class("milestone")).count(), 2);
        assert!(!svg.contains("Old"));
    }

    #[test]
    fn two_late_milestones_are_both_labelled() {
        let mut chart = blasts_chart();
        chart.from = at("2021-01-01");
        let (placed, _) = milestone_layout(&chart.milestones, chart.from.unix(), chart.to.unix());
        assert!(placed.iter().all(|m| m.label.is_some()), "both fit when placed from the right");
    }

    #[test]
    fn a_chart_without_results_says_so() {
        let mut chart = blasts_chart();
        chart.series.iter_mut().for_each(|s| s.points.clear());
        let svg = render(&chart);
        let elements = well_formed(&svg);
        assert!(svg.contains(">No results yet</text>"));
        assert!(svg.contains("<desc id=\"blasts-desc\">No results yet.</desc>"));
        assert!(svg.contains("<title id=\"blasts-title\">Blasts</title>"));
        assert!(points(&elements).is_empty());

        chart.series.clear();
        well_formed(&render(&chart));
        chart.series.push(Series {
            name: "Only NaN".to_owned(),
            points: vec![point("x", "2026-01-01", f64::NAN)],
        });
        assert!(render(&chart).contains("No results yet"));
    }

    #[test]
    fn text_is_escaped_for_xml() {
        let mut chart = blasts_chart();
        chart.title = "Blasts <&> \"marrow\" 'and' blood".to_owned();
        chart.id = "blasts \"1\"".to_owned();
        chart.series[0].name = "A&B <i>".to_owned();
        chart.series[0].points[0].key = "k\"<&>".to_owned();
        chart.series[0].points[0].label = "a\u{0}b\nc".to_owned();
        let svg = render(&chart);
        let elements = well_formed(&svg);
        assert!(svg.contains(
            "<title id=\"blasts--1--title\">Blasts &lt;&amp;&gt; &quot;marrow&quot; &apos;and&apos; blood</title>"
        ));
        assert_eq!(elements[0].attr("id"), Some("blasts--1-"));
        assert!(svg.contains("data-series=\"A&amp;B &lt;i&gt;\""));
        assert!(svg.contains("data-key=\"k&quot;&lt;&amp;&gt;\""));
        assert!(svg.contains("<title>a\u{fffd}b c</title>"));
        well_formed(&render(&Chart { id: "9".to_owned(), ..chart.clone() }));
        assert!(render(&Chart { id: "9".to_owned(), ..chart }).contains("id=\"chart-9\""));
    }

    #[test]
    fn a_single_result_sits_in_the_middle_of_a_padded_axis() {
        let chart = Chart {
            from: at("2026-03-01"),
            to: at("2026-03-01"),
            series: vec![Series {
                name: "Marrow blasts".to_owned(),
                points: vec![point("case-1", "2026-03-01", 3.0)],
            }],
            reference_lines: vec![],
            milestones: vec![],
            ..blasts_chart()
        };
        let svg = render(&chart);
        let elements = well_formed(&svg);
        let (x, _) = centre(points(&elements)[0]);
        assert!((x - (PLOT_LEFT + PLOT_RIGHT) / 2.0).abs() < 0.1, "{x}");
        assert!(elements.iter().filter(|e| e.has_class("date-tick")).count() >= 2);
        assert!(svg.contains("Marrow blasts: 1 result, 3 % on 2026-03-01."));
        assert!(!svg.contains("trend"), "no line through a single point");
    }

    #[test]
    fn a_result_outside_the_range_widens_it_rather_than_being_hidden() {
        let mut chart = blasts_chart();
        chart.series[1].points.push(point("count-0", "2025-11-20", 8.0));
        let svg = render(&chart);
        let elements = well_formed(&svg);
        for e in points(&elements) {
            let (x, _) = centre(e);
            assert!((PLOT_LEFT..=PLOT_RIGHT).contains(&x), "{x}");
        }
        assert!(svg.contains("from 2025-11-20 to 2026-06-30"));
    }

    #[test]
    fn negative_values_and_a_raised_floor_stay_inside_the_axis() {
        let mut chart = blasts_chart();
        chart.y_min = Some(10.0);
        let svg = render(&chart);
        assert!(svg.contains(">0</text>"), "the floor drops to hold 0.5 %");
        chart.series[1].points.push(point("count-3", "2026-03-01", -3.0));
        let svg = render(&chart);
        well_formed(&svg);
        assert!(svg.contains(">-20</text>"), "{svg}");
    }

    // ---- Axes ----

    fn labels(ticks: &Ticks) -> Vec<String> {
        ticks.values.iter().map(|v| ticks.label(*v)).collect()
    }

    #[test]
    fn value_ticks_are_nice_steps() {
        assert_eq!(labels(&nice_ticks(0.0, 47.0, 5)), ["0", "10", "20", "30", "40", "50"]);
        assert_eq!(labels(&nice_ticks(0.0, 0.8, 5)), ["0", "0.2", "0.4", "0.6", "0.8"]);
        assert_eq!(labels(&nice_ticks(0.0, 100.0, 5)), ["0", "20", "40", "60", "80", "100"]);
        assert_eq!(labels(&nice_ticks(0.0, 3.1, 5)), ["0", "1", "2", "3", "4"]);
        assert_eq!(labels(&nice_ticks(-3.0, 12.0, 5)), ["-5", "0", "5", "10", "15"]);
        assert_eq!(labels(&nice_ticks(0.0, 0.035, 5)), ["0", "0.01", "0.02", "0.03", "0.04"]);
        assert_eq!(
            labels(&nice_ticks(2.0, 2.0, 5)),
            ["2", "3"],
            "an empty span still gives an axis"
        );
        assert_eq!(labels(&nice_ticks(f64::NAN, 1.0, 5)).len(), 2);
    }

    fn tick_labels(ticks: &[DateTick]) -> Vec<(String, Option<String>)> {
        ticks.iter().map(|t| (t.label.clone(), t.year.clone())).collect()
    }

    const PLOT_WIDTH: f64 = PLOT_RIGHT - PLOT_LEFT - 2.0 * INSET;

    #[test]
    fn a_ten_day_range_has_day_ticks_with_the_year_once() {
        let ticks = date_ticks(at("2026-03-01").unix(), at("2026-03-11").unix(), PLOT_WIDTH);
        let labels = tick_labels(&ticks);
        let expected: Vec<(String, Option<String>)> =
            (2..=11).map(|d| (format!("{d} Mar"), (d == 2).then(|| "2026".to_owned()))).collect();
        assert_eq!(labels, expected);
        assert!(ticks.iter().all(|t| t.at % DAY == 0), "ticks fall at midnight");
    }

    #[test]
    fn a_five_year_range_has_year_ticks() {
        let ticks = date_ticks(at("2021-01-01").unix(), at("2026-02-01").unix(), PLOT_WIDTH);
        let labels: Vec<String> = ticks.iter().map(|t| t.label.clone()).collect();
        assert_eq!(labels, ["2022", "2023", "2024", "2025", "2026"]);
        assert!(ticks.iter().all(|t| t.year.is_none()));
    }

    #[test]
    fn a_year_has_month_ticks_and_the_year_where_it_changes() {
        let ticks = date_ticks(at("2025-11-15").unix(), at("2026-06-15").unix(), PLOT_WIDTH);
        assert_eq!(
            tick_labels(&ticks),
            [
                ("Dec".to_owned(), Some("2025".to_owned())),
                ("Jan".to_owned(), Some("2026".to_owned())),
                ("Feb".to_owned(), None),
                ("Mar".to_owned(), None),
                ("Apr".to_owned(), None),
                ("May".to_owned(), None),
                ("Jun".to_owned(), None),
            ]
        );
    }

    #[test]
    fn date_ticks_fit_any_range() {
        for (from, to) in [
            ("2026-03-01", "2026-03-03"),
            ("2026-01-01", "2026-02-15"),
            ("2024-01-01", "2026-06-01"),
            ("1990-01-01", "2026-06-01"),
            ("1800-01-01", "9999-12-31"),
        ] {
            let (lo, hi) = (at(from).unix(), at(to).unix());
            let ticks = date_ticks(lo, hi, PLOT_WIDTH);
            assert!((2..=14).contains(&ticks.len()), "{from}–{to}: {:?}", tick_labels(&ticks));
            assert!(ticks.windows(2).all(|w| w[0].at < w[1].at));
            assert!(ticks.iter().all(|t| (lo..=hi).contains(&t.at)));
        }
        // Nonsense instants give no ticks rather than a panic or an endless loop.
        let (lo, hi) = padded(i64::MIN, i64::MAX);
        let _ = date_ticks(lo, hi, PLOT_WIDTH);
        let (lo, hi) = padded(i64::MAX, i64::MAX);
        let _ = date_ticks(lo, hi, PLOT_WIDTH);
    }

    #[test]
    fn coordinates_carry_at_most_one_decimal() {
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(40.0), "40");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(short_number(12.0), "12");
        assert_eq!(short_number(4.75), "4.75");
        assert_eq!(short_number(0.12345), "0.1235");
        assert_eq!(short_number(-0.00001), "-0.00001");
        assert_eq!(short_number(1234.6), "1235");
    }
}
