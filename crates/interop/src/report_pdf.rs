//! The signed report as a PDF for printing and filing, on A4 or US Letter.
//!
//! The same content as the plain-text report ([`crate::report_text`]), laid out for paper:
//!
//! - every page carries the patient's identifiers and the report version (with "AMENDED" or
//!   "SUPERSEDED by version N") at the top, and "Signed by … on …" with "Page n of N" at the
//!   bottom, so a page that comes loose from the others can still be filed and trusted;
//! - black and white only: results outside their reference interval are printed in bold with
//!   an H or L mark, never in colour, and shading is grey, so a black-and-white printer or a
//!   photocopy loses nothing;
//! - text is measured with the Helvetica metrics and wrapped inside the margins, and flows onto
//!   as many pages as it needs: a long interpretation is never cut off;
//! - the last page is a short summary for the patient in plain language ([`patient_summary`]),
//!   which states no diagnosis and does not interpret the flags.
//!
//! The output is byte-stable for a given report and paper size.

use marrow_domain::reference::RangeStatus;

use crate::labels::specimen_code;
use crate::pdf::{self, A4, Font, LETTER, MM, Page, text_width, wrap};
use crate::report_text::{aspirate_lines, range_mark};
use crate::signed::{ResultUnit, SignedReport};

/// The paper the report is printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperSize {
    /// ISO A4, 210 × 297 mm.
    A4,
    /// US Letter, 8.5 × 11 inches.
    Letter,
}

impl PaperSize {
    /// Width and height in points.
    pub fn points(self) -> (f64, f64) {
        match self {
            Self::A4 => A4,
            Self::Letter => LETTER,
        }
    }
}

/// The report as a PDF file on the given paper.
pub fn render(report: &SignedReport<'_>, paper: PaperSize) -> Vec<u8> {
    pdf::document_sized(&pages(report, paper), paper.points())
}

/// A section of the patient summary: a heading (a question the patient might ask) and its
/// paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummarySection {
    /// The heading.
    pub heading: &'static str,
    /// Its paragraphs, in plain language.
    pub paragraphs: Vec<String>,
}

/// The title of the patient summary page.
pub const SUMMARY_TITLE: &str = "Your bone marrow test: a summary for you";

/// The plain-language summary printed on the last page, for the patient.
///
/// It says what a marrow test looks at, that the result is a description rather than
/// "positive" or "negative", whether this report has been changed, and whom to ask. It never
/// states a diagnosis and never explains the flags: that is the doctor's conversation with the
/// patient, in the context of everything else the doctor knows. Written for a reading grade of
/// about 6–8, as the issue asks (short sentences, everyday words); the tests hold it to a
/// Flesch–Kincaid grade of at most 8.
pub fn patient_summary(r: &SignedReport<'_>) -> Vec<SummarySection> {
    // What a marrow test looks at: the cells that make blood (clinical reference §1.2–1.5),
    // signs of cancer cells (the thresholds of §3 are read from these counts) and signs of
    // infection such as granulomas or organisms (§3.7).
    let looks_at = vec![
        "Bone marrow is the soft part inside your bones. It makes your blood cells.".to_owned(),
        "A small sample of your marrow was looked at under a microscope. The doctor looked at \
         the cells that make your blood. They also looked for signs of cancer cells and for \
         signs of infection."
            .to_owned(),
    ];
    // Not "positive or negative": the wording, which it takes from the project's seed
    // page (Cleveland Clinic, Bone Marrow Aspiration, reviewed 18 Jan 2022; clinical reference
    // §10); that page was not re-read for this module. The report is one part of the picture,
    // read with the blood count, the other tests and the clinical context (ICSH 2008, clinical
    // reference §1.1), so the patient is sent to their doctor, not told what it means.
    let meaning = vec![
        "A marrow test is not simply positive or negative. The report says what the doctor saw: \
         the kinds of cells, how many there were, and what they looked like."
            .to_owned(),
        "Your doctor will look at it along with your other tests and your health. Your doctor \
         will talk with you about what this means."
            .to_owned(),
    ];
    let changed = match (r.is_amended(), r.is_superseded()) {
        (false, false) => vec!["No. This is the first version of the report.".to_owned()],
        (true, false) => vec![format!(
            "Yes. The report was changed after it was first signed. This is version {}. Your \
             doctor can tell you what was changed and why.",
            r.version
        )],
        (amended, true) => {
            let mut text = format!(
                "This is version {} of the report. A newer version has been made since: \
                 version {}. Please ask for the newest version.",
                r.version, r.latest_version
            );
            if amended {
                text.push_str(" This version was also a change to an earlier one.");
            }
            vec![text]
        }
    };
    let ask = vec![
        format!(
            "Please ask the team that asked for this test. That is {} and their team.",
            r.ordered_by
        ),
        "The other pages are written for doctors. They use a lot of medical words. It is fine \
         to ask what any of them mean."
            .to_owned(),
    ];
    vec![
        SummarySection { heading: "What does the test look at?", paragraphs: looks_at },
        SummarySection { heading: "What do the results mean?", paragraphs: meaning },
        SummarySection { heading: "Has this report been changed?", paragraphs: changed },
        SummarySection { heading: "Who can I ask about it?", paragraphs: ask },
    ]
}

// Type sizes in points: design choices, not sourced rules. 9.5 pt keeps each class of the
// differential on one table row on either paper; the patient's page is in larger print.
const TITLE: f64 = 12.5;
const HEADING: f64 = 11.0;
const BODY: f64 = 9.5;
const SMALL: f64 = 8.0;
const SUMMARY_TITLE_SIZE: f64 = 16.0;
const SUMMARY_HEADING: f64 = 13.0;
const SUMMARY_BODY: f64 = 12.0;
/// Line height as a multiple of the type size.
const LEADING: f64 = 1.3;
const MARGIN_X: f64 = 18.0 * MM;
const MARGIN_Y: f64 = 14.0 * MM;
/// The width of the label column of label–value rows: the longest synoptic heading
/// ("Lymphocytes and plasma cells", about 49.4 mm in 9.5 pt bold) fits on one line.
const LABEL_COLUMN: f64 = 52.0 * MM;
/// Grey of table headers and banners: dark enough to show on paper, light enough that black
/// bold text on it stays readable.
const SHADE: f64 = 0.85;
/// Grey of every other table row, to guide the eye across.
const ZEBRA: f64 = 0.94;

/// The printable area of a page.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn new(paper: PaperSize) -> Self {
        let (width, height) = paper.points();
        Self { left: MARGIN_X, right: width - MARGIN_X, top: height - MARGIN_Y, bottom: MARGIN_Y }
    }

    fn width(&self) -> f64 {
        self.right - self.left
    }
}

/// A piece of text at an offset from the left margin.
#[derive(Debug, Clone)]
struct Run {
    font: Font,
    dx: f64,
    text: String,
}

/// A line of runs in one type size.
#[derive(Debug, Clone)]
struct Line {
    size: f64,
    runs: Vec<Run>,
}

impl Line {
    fn height(&self) -> f64 {
        self.size * LEADING
    }
}

/// Lays segments out left to right with `gap` between them, starting a new line where the next
/// would not fit; a segment wider than a whole line is wrapped on its own.
fn inline(segments: &[(Font, String)], size: f64, width: f64, gap: f64) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current = Line { size, runs: Vec::new() };
    let mut x = 0.0;
    for (font, text) in segments {
        let w = text_width(text, *font, size);
        let start = if current.runs.is_empty() { 0.0 } else { x + gap };
        if start + w <= width {
            current.runs.push(Run { font: *font, dx: start, text: text.clone() });
            x = start + w;
            continue;
        }
        if !current.runs.is_empty() {
            lines.push(std::mem::replace(&mut current, Line { size, runs: Vec::new() }));
        }
        let mut parts = wrap(text, *font, size, width);
        let last = parts.pop().unwrap_or_default();
        for part in parts {
            lines.push(Line { size, runs: vec![Run { font: *font, dx: 0.0, text: part }] });
        }
        x = text_width(&last, *font, size);
        current.runs.push(Run { font: *font, dx: 0.0, text: last });
    }
    if !current.runs.is_empty() {
        lines.push(current);
    }
    lines
}

/// What the version line says: the version, and whether it amends or is superseded.
fn version_status(r: &SignedReport<'_>) -> String {
    let mut status = format!("Version {}", r.version);
    if r.is_amended() {
        status.push_str(" \u{b7} AMENDED");
    }
    if r.is_superseded() {
        status.push_str(&format!(" \u{b7} SUPERSEDED by version {}", r.latest_version));
    }
    status
}

/// The header every page repeats: title and version, then the patient's identifiers.
fn header(r: &SignedReport<'_>, frame: &Frame) -> Vec<Line> {
    let width = frame.width();
    let title = "Bone marrow aspirate report";
    let status = version_status(r);
    let mut lines = Vec::new();
    let title_w = text_width(title, Font::Bold, TITLE);
    let status_w = text_width(&status, Font::Bold, TITLE);
    if title_w + 6.0 * MM + status_w <= width {
        lines.push(Line {
            size: TITLE,
            runs: vec![
                Run { font: Font::Bold, dx: 0.0, text: title.to_owned() },
                Run { font: Font::Bold, dx: width - status_w, text: status },
            ],
        });
    } else {
        lines.extend(inline(&[(Font::Bold, title.to_owned())], TITLE, width, 0.0));
        lines.extend(inline(&[(Font::Bold, status)], TITLE, width, 0.0));
    }
    let p = r.patient;
    let identifiers = [
        (Font::Bold, p.display_name()),
        (Font::Regular, format!("MRN {}", p.mrn.reveal())),
        (Font::Regular, format!("Born {}", p.date_of_birth)),
        (Font::Regular, format!("Sex {}", p.sex.label())),
        (Font::Regular, format!("Case {}", r.case_id)),
    ];
    lines.extend(inline(&identifiers, BODY + 0.5, width, 5.0 * MM));
    lines
}

/// The longest page label the footer reserves room for.
const PAGE_LABEL_ROOM: &str = "Page 9999 of 9999";

/// The footer's signed-by lines (the page label goes to the right of the first).
fn footer(r: &SignedReport<'_>, frame: &Frame) -> Vec<String> {
    let room = frame.width() - text_width(PAGE_LABEL_ROOM, Font::Bold, SMALL) - 6.0 * MM;
    wrap(&format!("Signed by {} on {}", r.signed_by, r.signed_at), Font::Regular, SMALL, room)
}

/// Height of a stack of lines.
fn stack_height(lines: &[Line]) -> f64 {
    lines.iter().map(Line::height).sum()
}

/// Space between the header's rule and the body, and the body and the footer's rule.
const BAND_GAP: f64 = 4.0 * MM;

/// The body area below the header and above the footer.
fn body_frame(frame: &Frame, header: &[Line], footer: &[String]) -> Frame {
    Frame {
        top: frame.top - stack_height(header) - BAND_GAP,
        bottom: frame.bottom + footer.len() as f64 * SMALL * LEADING + BAND_GAP,
        ..*frame
    }
}

/// The pages of the report, header and footer included.
fn pages(r: &SignedReport<'_>, paper: PaperSize) -> Vec<Page> {
    let frame = Frame::new(paper);
    let header = header(r, &frame);
    let footer = footer(r, &frame);
    let body = body_frame(&frame, &header, &footer);
    let mut pages = body_pages(r, body);
    let total = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        decorate(page, &frame, &header, &footer, i + 1, total);
    }
    pages
}

/// Draws the header and footer on one page.
fn decorate(
    page: &mut Page,
    frame: &Frame,
    header: &[Line],
    footer: &[String],
    number: usize,
    total: usize,
) {
    let mut y = frame.top;
    for line in header {
        for run in &line.runs {
            page.text(run.font, line.size, frame.left + run.dx, y - line.size, &run.text);
        }
        y -= line.height();
    }
    page.line(frame.left, y - 1.0, frame.right, y - 1.0, 0.8);
    let height = SMALL * LEADING;
    let mut y = frame.bottom + footer.len() as f64 * height;
    page.line(frame.left, y + 2.0, frame.right, y + 2.0, 0.5);
    let label = format!("Page {number} of {total}");
    let label_w = text_width(&label, Font::Bold, SMALL);
    page.text(Font::Bold, SMALL, frame.right - label_w, y - SMALL, &label);
    for line in footer {
        page.text(Font::Regular, SMALL, frame.left, y - SMALL, line);
        y -= height;
    }
}

/// Horizontal alignment in a table cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// A table column.
#[derive(Debug, Clone, Copy)]
struct Column {
    title: &'static str,
    width: f64,
    align: Align,
}

/// Padding inside table cells, left and right.
const CELL_PAD: f64 = 3.0;

/// Lays body content down the page and onto new pages as it fills.
struct Flow {
    frame: Frame,
    pages: Vec<Page>,
    /// The top of the next line.
    y: f64,
}

impl Flow {
    fn new(frame: Frame) -> Self {
        Self { frame, pages: vec![Page::default()], y: frame.top }
    }

    fn page(&mut self) -> &mut Page {
        // `new` starts with a page and pages are only ever added; this keeps indexing safe
        // without a panic path all the same.
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn at_top(&self) -> bool {
        self.y >= self.frame.top
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = self.frame.top;
    }

    /// Makes sure `height` fits below the current line, starting a new page if not; says
    /// whether it did. Content taller than a whole page is placed at the top of one and then
    /// split by its callers line by line, so nothing ever runs past the bottom margin.
    fn room(&mut self, height: f64) -> bool {
        if self.y - height < self.frame.bottom && !self.at_top() {
            self.new_page();
            true
        } else {
            false
        }
    }

    /// Vertical space, dropped at the top of a page where it would only waste room.
    fn gap(&mut self, height: f64) {
        if !self.at_top() {
            self.y = (self.y - height).max(self.frame.bottom);
        }
    }

    fn text_line(&mut self, font: Font, size: f64, dx: f64, text: &str) {
        let height = size * LEADING;
        self.room(height);
        let (x, y) = (self.frame.left + dx, self.y - size);
        self.page().text(font, size, x, y, text);
        self.y -= height;
    }

    fn paragraph(&mut self, font: Font, size: f64, indent: f64, text: &str) {
        for line in wrap(text, font, size, self.frame.width() - indent) {
            self.text_line(font, size, indent, &line);
        }
    }

    /// A section heading with a rule under it, kept with the first lines that follow.
    fn heading(&mut self, text: &str) {
        self.gap(2.5 * MM);
        let lines = wrap(text, Font::Bold, HEADING, self.frame.width());
        self.room(lines.len() as f64 * HEADING * LEADING + 3.0 * BODY * LEADING);
        for line in &lines {
            self.text_line(Font::Bold, HEADING, 0.0, line);
        }
        let (left, right, y) = (self.frame.left, self.frame.right, self.y + 0.5);
        self.page().line(left, y, right, y, 0.4);
        self.y -= 2.0;
    }

    /// A label and its value side by side, both wrapped in their columns.
    fn pair(&mut self, label: &str, value: &str, value_font: Font) {
        let labels = wrap(label, Font::Bold, BODY, LABEL_COLUMN - 2.0 * MM);
        let values = wrap(value, value_font, BODY, self.frame.width() - LABEL_COLUMN);
        let rows = labels.len().max(values.len()).max(1);
        let height = BODY * LEADING;
        // Keep a label with the first two lines of its value.
        self.room(height * rows.min(2) as f64);
        for i in 0..rows {
            self.room(height);
            let (left, y) = (self.frame.left, self.y - BODY);
            if let Some(text) = labels.get(i) {
                self.page().text(Font::Bold, BODY, left, y, text);
            }
            if let Some(text) = values.get(i) {
                self.page().text(value_font, BODY, left + LABEL_COLUMN, y, text);
            }
            self.y -= height;
        }
    }

    /// Bold text on a grey band across the page, for what a reader must not miss.
    fn banner(&mut self, text: &str) {
        let height = BODY * 1.6;
        let pad = 2.0 * MM;
        let lines = wrap(text, Font::Bold, BODY, self.frame.width() - 2.0 * pad);
        for line in &lines {
            self.room(height);
            let (left, width, y) = (self.frame.left, self.frame.width(), self.y);
            let page = self.page();
            page.grey_fill(left, y - height, width, height, SHADE);
            // Centre the capitals (about 0.72 of the size tall) in the band.
            page.text(Font::Bold, BODY, left + pad, y - height / 2.0 - 0.36 * BODY, line);
            self.y -= height;
        }
    }

    fn table_header(&mut self, columns: &[Column]) {
        let height = BODY * 1.5;
        self.room(height);
        let (left, width, y) = (self.frame.left, self.frame.width(), self.y);
        self.page().grey_fill(left, y - height, width, height, SHADE);
        let mut x = left;
        for column in columns {
            let text_x = cell_x(column, x, column.title, Font::Bold, BODY - 0.5);
            self.page().text(
                Font::Bold,
                BODY - 0.5,
                text_x,
                y - height / 2.0 - 0.36 * BODY,
                column.title,
            );
            x += column.width;
        }
        self.y -= height;
    }

    /// One row of a table; a cell too wide for its column wraps inside it. The header row is
    /// repeated at the top of each new page the table runs onto.
    fn table_row(&mut self, columns: &[Column], cells: &[String], font: Font, shaded: bool) {
        let wrapped: Vec<Vec<String>> = columns
            .iter()
            .zip(cells)
            .map(|(c, text)| wrap(text, font, BODY, c.width - 2.0 * CELL_PAD))
            .collect();
        let rows = wrapped.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let height = BODY * LEADING;
        for i in 0..rows {
            if self.room(height) {
                self.table_header(columns);
            }
            let (left, width, y) = (self.frame.left, self.frame.width(), self.y);
            if shaded {
                self.page().grey_fill(left, y - height, width, height, ZEBRA);
            }
            let mut x = left;
            for (column, lines) in columns.iter().zip(&wrapped) {
                if let Some(text) = lines.get(i) {
                    let text_x = cell_x(column, x, text, font, BODY);
                    self.page().text(font, BODY, text_x, y - BODY, text);
                }
                x += column.width;
            }
            self.y -= height;
        }
    }
}

/// Where text starts in a cell whose left edge is at `x`.
fn cell_x(column: &Column, x: f64, text: &str, font: Font, size: f64) -> f64 {
    match column.align {
        Align::Left => x + CELL_PAD,
        Align::Right => x + column.width - CELL_PAD - text_width(text, font, size),
    }
}

/// The body of every page: the clinical report, then the patient summary on a page of its own.
fn body_pages(r: &SignedReport<'_>, frame: Frame) -> Vec<Page> {
    let mut flow = Flow::new(frame);
    if r.is_superseded() {
        flow.banner(&format!(
            "SUPERSEDED: this is version {}; version {} replaces it. Act on the latest version \
             only.",
            r.version, r.latest_version
        ));
        flow.gap(1.5 * MM);
    }
    if r.is_amended() {
        flow.banner(&format!(
            "AMENDED REPORT (version {}): {}",
            r.version,
            r.amendment_reason.unwrap_or("reason not stated")
        ));
    }
    clinical_details(&mut flow, r);
    if let Some(a) = r.aspirate {
        flow.heading("Aspirate");
        for (label, text) in aspirate_lines(a) {
            flow.pair(label, &text, Font::Regular);
        }
    }
    differential(&mut flow, r);
    flow.heading("Report");
    for field in r.content.fields() {
        if let Some(text) = field.text {
            flow.pair(field.heading, &text, Font::Regular);
        }
    }
    if !r.flags.is_empty() {
        flow.heading("Flags shown at sign-out (not a diagnosis)");
        for flag in r.flags {
            // A hanging bullet: the text lines up to the right of it.
            let indent = 4.0 * MM;
            let lines = wrap(&flag.text, Font::Regular, BODY, frame.width() - indent);
            flow.room(2.0 * BODY * LEADING);
            for (i, line) in lines.iter().enumerate() {
                if i == 0 {
                    flow.room(BODY * LEADING);
                    let (x, y) = (frame.left + 1.0 * MM, flow.y - BODY);
                    flow.page().text(Font::Regular, BODY, x, y, "\u{2022}");
                }
                flow.text_line(Font::Regular, BODY, indent, line);
            }
            flow.paragraph(Font::Regular, SMALL, indent, &format!("Source: {}", flag.source));
            flow.gap(1.0 * MM);
        }
    }
    if r.is_amended() {
        flow.heading("Amendment");
        flow.pair("Reason", r.amendment_reason.unwrap_or("reason not stated"), Font::Regular);
    }
    signature(&mut flow, r);
    summary_page(&mut flow, r);
    flow.pages
}

fn clinical_details(flow: &mut Flow, r: &SignedReport<'_>) {
    flow.heading("Clinical details");
    flow.pair("Requested by", &format!("{} on {}", r.ordered_by, r.ordered_at), Font::Regular);
    flow.pair("Indication", &r.order.indication.to_string(), Font::Regular);
    if let Some(details) = &r.order.clinical_details {
        flow.pair("Blood count and film", details, Font::Regular);
    }
    flow.pair("Sampling", r.order.sampling.label(), Font::Regular);
    if let Some(n) = r.procedure {
        flow.pair(
            "Site",
            &format!("{}, {}", n.site.label(), n.side.label().to_lowercase()),
            Font::Regular,
        );
        flow.pair("Performed", &n.performed_at.to_string(), Font::Regular);
    }
    for (i, s) in r.specimens.iter().enumerate() {
        let label = if i == 0 { "Specimens" } else { "" };
        let mut text = format!(
            "{}  {} to {}",
            specimen_code(s.id.0),
            s.taken.tube.label(),
            s.taken.destination.label()
        );
        if let Some(volume) = s.taken.volume_ml {
            text.push_str(&format!(", {volume} mL"));
        }
        flow.pair(label, &text, Font::Regular);
    }
}

fn differential(flow: &mut Flow, r: &SignedReport<'_>) {
    let total = r.differential.total_with(r.rules);
    flow.heading(&format!("Differential count ({total} nucleated cells counted)"));
    let fixed = [
        Column { title: "Cells", width: 13.0 * MM, align: Align::Right },
        Column { title: "%", width: 13.0 * MM, align: Align::Right },
        Column { title: "95% limits", width: 23.0 * MM, align: Align::Right },
        Column { title: "Reference", width: 21.0 * MM, align: Align::Right },
        Column { title: "H/L", width: 11.0 * MM, align: Align::Right },
    ];
    let class_width = flow.frame.width() - fixed.iter().map(|c| c.width).sum::<f64>();
    let mut columns = vec![Column { title: "Cell class", width: class_width, align: Align::Left }];
    columns.extend(fixed);
    // The header and the first rows stay together.
    flow.room(BODY * 1.5 + 3.0 * BODY * LEADING);
    flow.table_header(&columns);
    let results = r.results();
    let mut shaded = false;
    for line in results.iter().filter(|l| l.unit == ResultUnit::Percent) {
        let limits =
            line.limits_95.map_or_else(String::new, |(lo, hi)| format!("{lo:.1}\u{2013}{hi:.1}"));
        let reference = line
            .reference
            .as_ref()
            .map_or_else(String::new, |(lo, hi)| format!("{lo}\u{2013}{hi}"));
        let cells = [
            line.label.clone(),
            line.cells.map_or_else(String::new, |c| c.to_string()),
            line.display.clone(),
            limits,
            reference,
            range_mark(line.status).to_owned(),
        ];
        flow.table_row(&columns, &cells, font_for(line.status), shaded);
        shaded = !shaded;
    }
    let (left, right, y) = (flow.frame.left, flow.frame.right, flow.y);
    flow.page().line(left, y, right, y, 0.4);
    flow.gap(1.5 * MM);
    flow.paragraph(
        Font::Regular,
        SMALL,
        0.0,
        "H / L: above / below the reference interval; those rows are printed in bold. 95% \
         limits: exact (Clopper-Pearson) binomial limits of the percentage for the number of \
         cells counted.",
    );
    let excluded: Vec<String> = marrow_domain::morphology::CellClass::ALL
        .iter()
        .filter(|c| !r.rules.counts(**c))
        .map(|c| format!("{} {}", c.label(), r.differential.count(*c)))
        .collect();
    if !excluded.is_empty() {
        flow.paragraph(
            Font::Regular,
            SMALL,
            0.0,
            &format!("Seen but not in the count: {}.", excluded.join("; ")),
        );
    }
    flow.paragraph(
        Font::Regular,
        SMALL,
        0.0,
        &format!("Reference intervals: {}.", r.reference.name()),
    );
    flow.gap(1.5 * MM);
    for line in results.iter().filter(|l| l.unit != ResultUnit::Percent) {
        let value = match line.unit {
            ResultUnit::Ratio => {
                let mut text = if line.value.is_some() {
                    format!("{}:1", line.display)
                } else {
                    line.display.clone()
                };
                if let Some((lo, hi)) = &line.reference {
                    text.push_str(&format!("   (reference {lo}\u{2013}{hi}:1)"));
                }
                let mark = range_mark(line.status);
                if !mark.is_empty() {
                    text.push_str(&format!("   {mark}"));
                }
                text
            }
            _ => line.display.clone(),
        };
        flow.pair(&line.label, &value, font_for(line.status));
    }
}

/// Bold for a value outside its reference interval: the black-and-white stand-in for colour.
fn font_for(status: RangeStatus) -> Font {
    match status {
        RangeStatus::Above | RangeStatus::Below => Font::Bold,
        _ => Font::Regular,
    }
}

fn signature(flow: &mut Flow, r: &SignedReport<'_>) {
    let version = match (r.is_amended(), r.is_superseded()) {
        (false, false) => format!("{} (original sign-out)", r.version),
        (true, false) => format!("{} (amends version {})", r.version, r.version - 1),
        (_, true) => format!("{} (superseded by version {})", r.version, r.latest_version),
    };
    // Keep the block together so the signer is never alone at the top of a page.
    flow.room(2.5 * MM + HEADING * LEADING + 2.0 + 3.0 * BODY * LEADING);
    flow.heading("Sign-out");
    flow.pair("Signed by", r.signed_by, Font::Bold);
    flow.pair("Signed on", &r.signed_at.to_string(), Font::Regular);
    flow.pair("Version", &version, Font::Regular);
}

fn summary_page(flow: &mut Flow, r: &SignedReport<'_>) {
    flow.new_page();
    flow.paragraph(Font::Bold, SUMMARY_TITLE_SIZE, 0.0, SUMMARY_TITLE);
    flow.paragraph(
        Font::Regular,
        SUMMARY_BODY,
        0.0,
        &format!("For {} {}.", r.patient.given_name.reveal(), r.patient.family_name.reveal()),
    );
    for section in patient_summary(r) {
        flow.gap(3.0 * MM);
        flow.room(SUMMARY_HEADING * LEADING + 2.0 * SUMMARY_BODY * LEADING);
        flow.paragraph(Font::Bold, SUMMARY_HEADING, 0.0, section.heading);
        for paragraph in &section.paragraphs {
            flow.gap(1.0 * MM);
            flow.paragraph(Font::Regular, SUMMARY_BODY, 0.0, paragraph);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleCase;
    use marrow_domain::report::ReportContent;

    /// Every page's drawing stays inside the margins, and the body stays between the header
    /// and the footer.
    fn assert_inside(r: &SignedReport<'_>, paper: PaperSize) {
        let frame = Frame::new(paper);
        let eps = 1e-6;
        for (i, page) in pages(r, paper).iter().enumerate() {
            let ink = page.ink().expect("a page with something on it");
            assert!(
                ink.left >= frame.left - eps && ink.right <= frame.right + eps,
                "page {i}: {ink:?}"
            );
            assert!(
                ink.bottom >= frame.bottom - eps && ink.top <= frame.top + eps,
                "page {i}: {ink:?}"
            );
        }
        let body = body_frame(&frame, &header(r, &frame), &footer(r, &frame));
        for (i, page) in body_pages(r, body).iter().enumerate() {
            let ink = page.ink().expect("a body on every page");
            assert!(
                ink.bottom >= body.bottom - eps && ink.top <= body.top + eps,
                "body {i}: {ink:?}"
            );
        }
    }

    #[test]
    fn the_sample_stays_inside_the_margins_on_both_papers() {
        let sample = SampleCase::new();
        for (version, latest) in [(1, 1), (1, 2), (2, 2)] {
            assert_inside(&sample.report(version, latest), PaperSize::A4);
            assert_inside(&sample.report(version, latest), PaperSize::Letter);
        }
    }

    #[test]
    fn long_words_names_and_text_wrap_inside_the_margins() {
        let sample = SampleCase::new();
        let word = "Hypercellularmarrowwithoutanyspacesatallwhichmustbesplit".repeat(3);
        let content = ReportContent {
            interpretation: Some(format!("{word} {}", "A fairly long sentence. ".repeat(400))),
            ..sample.content.clone()
        };
        let signer = "Dr Signatory With An Exceptionally Long Name And Several Titles, \
                      Consultant Haematologist And Honorary Senior Lecturer In Haematopathology";
        let report = SignedReport {
            content: &content,
            signed_by: signer,
            ordered_by: signer,
            amendment_reason: Some(&word),
            ..sample.report(2, 3)
        };
        assert_inside(&report, PaperSize::A4);
        assert_inside(&report, PaperSize::Letter);
        assert!(pages(&report, PaperSize::A4).len() > 4);
        // The footer wrapped rather than run under the page number.
        assert!(footer(&report, &Frame::new(PaperSize::A4)).len() > 1);
    }

    #[test]
    fn a_report_without_procedure_aspirate_specimens_or_flags_still_lays_out() {
        let sample = SampleCase::new();
        let content = ReportContent {
            interpretation: Some("Normal marrow.".to_owned()),
            ..ReportContent::default()
        };
        let report = SignedReport {
            procedure: None,
            aspirate: None,
            specimens: &[],
            flags: &[],
            content: &content,
            ..sample.report(1, 1)
        };
        assert_inside(&report, PaperSize::A4);
        let pdf = String::from_utf8(render(&report, PaperSize::A4)).unwrap();
        assert!(pdf.contains("(Normal marrow.) Tj"));
        assert!(!pdf.contains("(Aspirate) Tj") && !pdf.contains("(Flags shown"));
    }

    #[test]
    fn inline_segments_break_between_segments_and_wrap_a_wide_one() {
        let segments = [
            (Font::Bold, "A".repeat(30)),
            (Font::Regular, "MRN 1".to_owned()),
            (Font::Regular, "x ".repeat(200)),
        ];
        let lines = inline(&segments, 10.0, 300.0, 10.0);
        assert!(lines.len() >= 3, "{lines:?}");
        for line in &lines {
            for run in &line.runs {
                assert!(run.dx + text_width(&run.text, run.font, 10.0) <= 300.0 + 1e-9);
            }
        }
        let words: usize =
            lines.iter().flat_map(|l| &l.runs).map(|r| r.text.split_whitespace().count()).sum();
        assert_eq!(words, 1 + 2 + 200);
    }

    #[test]
    fn the_version_line_says_amended_and_superseded() {
        let sample = SampleCase::new();
        assert_eq!(version_status(&sample.report(1, 1)), "Version 1");
        assert_eq!(
            version_status(&sample.report(1, 2)),
            "Version 1 \u{b7} SUPERSEDED by version 2"
        );
        assert_eq!(version_status(&sample.report(2, 2)), "Version 2 \u{b7} AMENDED");
    }

    #[test]
    fn the_summary_is_plain_and_states_no_finding() {
        let sample = SampleCase::new();
        for (version, latest) in [(1, 1), (1, 2), (2, 2), (2, 3)] {
            let r = sample.report(version, latest);
            let text: String = patient_summary(&r)
                .iter()
                .map(|s| format!("{} {} ", s.heading, s.paragraphs.join(" ")))
                .collect();
            let grade = marrow_domain::readability::flesch_kincaid_grade(&text);
            assert!(grade <= 8.0, "version {version}: grade {grade:.1}");
            assert!(text.contains("not simply positive or negative"));
            assert!(text.contains(r.ordered_by));
            for flag in r.flags {
                assert!(!text.contains(&flag.text));
            }
            for word in ["blast", "dysplas", "MDS", "leuk", "myelo", "lymphoma", "diagnos"] {
                assert!(!text.to_lowercase().contains(&word.to_lowercase()), "{word}");
            }
        }
    }
}
