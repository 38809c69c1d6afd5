//! The timeline's charts, built from a [`Timeline`] and drawn as SVG by
//! `marrow-interop::chart`: marrow blasts, plasma cells and M:E with their 95 % limits as error
//! bars; haemoglobin, neutrophils and platelets across counts; thresholds as reference lines and
//! milestones as markers, all on one shared time axis.

use marrow_domain::blood_count::{AgeBand, Analyte, reference_range};
use marrow_domain::monitoring::{CR_MARROW_BLASTS, CR_NEUTROPHILS, CR_PLATELETS, Estimate};
use marrow_domain::reference::ReferenceTable;
use marrow_domain::time::{Date, Timestamp};
use marrow_interop::chart::{Chart, MilestoneLine, Point, ReferenceLine, Series, render};

use crate::timeline::{MarrowColumn, Timeline, noon};

/// Clinical reference §3.1 (WHO 2022 / ICC 2022): 20 % marrow blasts.
const AML_BLASTS: f64 = 20.0;
/// Clinical reference §3.4 (IMWG 2014): clonal marrow plasma cells ≥ 10 %.
const IMWG_PLASMA_CELLS: f64 = 10.0;

/// A marrow's figure for a chart: (value, lower limit, upper limit, tooltip text).
type Pick = dyn Fn(&MarrowColumn) -> Option<(f64, f64, f64, String)>;

/// The six charts of a timeline, as SVG text, in page order.
pub fn timeline_charts(t: &Timeline) -> Vec<String> {
    let (from, to) = t.span().unwrap_or((Timestamp::from_unix(0), Timestamp::from_unix(86_400)));
    let markers: Vec<MilestoneLine> = t
        .milestones
        .iter()
        .map(|m| MilestoneLine {
            at: noon(m.milestone.on),
            label: m.milestone.kind.label().to_owned(),
        })
        .collect();
    let chart = |id: &str, title: &str, unit: &str, series, lines| Chart {
        id: id.to_owned(),
        title: title.to_owned(),
        unit: unit.to_owned(),
        series,
        reference_lines: lines,
        milestones: markers.clone(),
        from,
        to,
        y_min: Some(0.0),
    };
    let line = |value: f64, label: &str| ReferenceLine { value, label: label.to_owned() };
    let marrow_series = |name: &str, pick: &Pick| Series {
        name: name.to_owned(),
        points: t
            .marrows
            .iter()
            .filter_map(|m| {
                let (value, lower, upper, text) = pick(m)?;
                let at = m.serial.taken_at;
                Some(Point {
                    at,
                    value,
                    lower: Some(lower),
                    upper: Some(upper),
                    key: format!("case-{}", m.serial.case),
                    label: format!("{text}, {} (case #{})", Date::of(at), m.serial.case),
                })
            })
            .collect(),
    };
    fn percent(e: &Estimate) -> (f64, f64, f64, String) {
        let text = format!("{:.1} % (95 % limits {:.1}–{:.1})", e.percent, e.lower, e.upper);
        (e.percent, e.lower, e.upper, text)
    }
    let blasts = marrow_series("Marrow blasts", &|m| m.serial.blasts.as_ref().map(percent));
    let plasma =
        marrow_series("Marrow plasma cells", &|m| m.serial.plasma_cells.as_ref().map(percent));
    let me = marrow_series("M:E ratio", &|m| {
        m.serial.me_ratio.map(|r| {
            let upper = if r.upper.is_finite() { format!("{:.2}", r.upper) } else { "∞".into() };
            (
                r.ratio,
                r.lower,
                r.upper,
                format!("{:.2}:1 (95 % limits {:.2}–{upper})", r.ratio, r.lower),
            )
        })
    });
    let mut me_lines = Vec::new();
    if let Some(limits) = ReferenceTable::iowa_adult().me_ratio() {
        me_lines.push(line(limits.low.as_f64(), "Reference low (Iowa adult table)"));
        me_lines.push(line(limits.high.as_f64(), "Reference high"));
    }
    let count_series = |analyte: Analyte| Series {
        name: analyte.label().to_owned(),
        points: t
            .counts
            .iter()
            .filter_map(|c| {
                let value = c.count.get(analyte)?;
                let at = c.count.taken_at;
                Some(Point {
                    at,
                    value: value.as_f64(),
                    lower: None,
                    upper: None,
                    key: format!("count-{}", c.id),
                    label: format!("{value} {}, {}", analyte.unit().label(), Date::of(at)),
                })
            })
            .collect(),
    };
    // The range of the patient's age band today: the ranges of a child's earlier counts differ,
    // and each count's own flags (in the table) use the band of its day.
    let p = &t.patient.patient;
    let band = AgeBand::on(p.date_of_birth, Date::of(to));
    let range_lines = |analyte: Analyte| -> Vec<ReferenceLine> {
        reference_range(analyte, p.sex, band)
            .map(|r| {
                vec![
                    line(r.low.as_f64(), &format!("Reference low {}", r.low)),
                    line(r.high.as_f64(), &format!("Reference high {}", r.high)),
                ]
            })
            .unwrap_or_default()
    };
    let mut neutrophil_lines = range_lines(Analyte::Neutrophils);
    neutrophil_lines.push(line(CR_NEUTROPHILS.as_f64(), "ELN 2022 CR: ≥ 1.0"));
    let mut platelet_lines = range_lines(Analyte::Platelets);
    platelet_lines.push(line(CR_PLATELETS.as_f64(), "ELN 2022 CR: ≥ 100"));
    [
        chart(
            "chart-blasts",
            "Marrow blasts",
            "%",
            vec![blasts],
            vec![
                line(CR_MARROW_BLASTS, "5 %: ELN 2022 CR below"),
                line(AML_BLASTS, "20 %: AML (WHO/ICC 2022)"),
            ],
        ),
        chart(
            "chart-plasma-cells",
            "Marrow plasma cells",
            "%",
            vec![plasma],
            vec![line(IMWG_PLASMA_CELLS, "10 %: IMWG 2014")],
        ),
        chart("chart-me-ratio", "M:E ratio", ":1", vec![me], me_lines),
        chart(
            "chart-haemoglobin",
            "Haemoglobin",
            "g/L",
            vec![count_series(Analyte::Haemoglobin)],
            range_lines(Analyte::Haemoglobin),
        ),
        chart(
            "chart-neutrophils",
            "Neutrophils",
            "×10⁹/L",
            vec![count_series(Analyte::Neutrophils)],
            neutrophil_lines,
        ),
        chart(
            "chart-platelets",
            "Platelets",
            "×10⁹/L",
            vec![count_series(Analyte::Platelets)],
            platelet_lines,
        ),
    ]
    .iter()
    .map(render)
    .collect()
}
