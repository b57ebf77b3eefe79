//! A small flow layout: blocks (headings, paragraphs, tables, signature boxes) are broken into
//! lines with the font's glyph advances and placed on A4 pages. Coordinates here run from the
//! top of the page down, in points; `pdf` flips them when it writes the page.
//!
//! Layout is the first of two passes: it decides what goes on which page, so that the second
//! pass knows the page count before it writes « Page n/N » on each page.

use crate::fonts::{Face, Fonts};

pub(crate) const PAGE_WIDTH: f32 = 595.276;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
/// 20 mm: office printers cannot print the outer 4 to 6 mm, and punched or stapled sheets need
/// room on the left.
pub(crate) const MARGIN: f32 = 56.693;
pub(crate) const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

/// Near-black for text: full contrast on any printer, a little softer on screen.
pub(crate) const INK: f32 = 0.1;
const RULE_GREY: f32 = 0.55;
const HEADER_FILL: f32 = 0.9;

/// Font sizes and line heights of one document, in points.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub title: f32,
    pub heading: f32,
    pub subheading: f32,
    pub body: f32,
    pub leading: f32,
    pub table: f32,
    pub table_leading: f32,
    pub small: f32,
    /// Size of the running header and footer.
    pub chrome: f32,
    /// Space after a paragraph.
    pub paragraph_gap: f32,
    pub cell_padding: f32,
}

impl Style {
    /// The top of the body area: below the running header.
    pub fn body_top(&self) -> f32 {
        MARGIN + self.chrome * 1.4 + 14.0
    }

    /// The bottom of the body area: above the footer.
    pub fn body_bottom(&self) -> f32 {
        PAGE_HEIGHT - MARGIN - self.chrome * 1.4 - 10.0
    }
}

/// A run of text in one face.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    pub face: Face,
    pub text: String,
}

pub(crate) fn regular(text: impl Into<String>) -> Span {
    Span {
        face: Face::Regular,
        text: text.into(),
    }
}

pub(crate) fn bold(text: impl Into<String>) -> Span {
    Span {
        face: Face::Bold,
        text: text.into(),
    }
}

/// Something drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// `y` is the baseline, from the top of the page.
    Text {
        x: f32,
        y: f32,
        face: Face,
        size: f32,
        grey: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        grey: f32,
    },
    /// `y` is the top edge.
    Fill {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        grey: f32,
    },
    Frame {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        grey: f32,
    },
}

/// A table: column titles with relative widths, and rows of cells.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub columns: Vec<(String, f32)>,
    pub rows: Vec<Vec<Vec<Span>>>,
}

/// A table broken into lines, ready to place.
struct PreparedTable {
    widths: Vec<f32>,
    header: Vec<Vec<LaidLine>>,
    rows: Vec<Vec<Vec<LaidLine>>>,
    header_height: f32,
    /// How many lines of a row fit below the header on an empty page.
    full_page: usize,
}

impl PreparedTable {
    /// The header with the whole first row, or with its first two lines when the row is
    /// taller than a page: what must fit before the table starts on this page.
    fn start_height(&self, style: Style) -> f32 {
        let first_lines = self.rows.first().map_or(1, |cells| {
            cells.iter().map(Vec::len).max().unwrap_or(0).max(1)
        });
        let kept = if first_lines <= self.full_page {
            first_lines
        } else {
            2
        };
        self.header_height + kept as f32 * style.table_leading + 2.0 * style.cell_padding
    }
}

/// One laid-out line: runs with their x offset from the line start.
type LaidLine = Vec<(f32, Face, String)>;

pub(crate) struct Layout<'f> {
    fonts: &'f Fonts,
    style: Style,
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f Fonts, style: Style) -> Self {
        Layout {
            fonts,
            style,
            pages: vec![Vec::new()],
            y: style.body_top(),
        }
    }

    pub fn finish(self) -> Vec<Vec<Item>> {
        self.pages
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.style.body_top();
    }

    fn at_page_top(&self) -> bool {
        self.y <= self.style.body_top() + 0.01
    }

    fn room(&self) -> f32 {
        self.style.body_bottom() - self.y
    }

    /// Starts a new page unless `height` still fits on this one (or this page is empty).
    pub fn ensure(&mut self, height: f32) {
        if height > self.room() + 0.01 && !self.at_page_top() {
            self.new_page();
        }
    }

    fn push(&mut self, item: Item) {
        if let Some(page) = self.pages.last_mut() {
            page.push(item);
        }
    }

    pub fn gap(&mut self, height: f32) {
        if !self.at_page_top() {
            self.y = (self.y + height).min(self.style.body_bottom());
        }
    }

    pub fn title(&mut self, text: &str) {
        let size = self.style.title;
        self.lines_block(&[bold(text)], size, size * 1.25, 0.0, None, INK);
        self.gap(size * 0.5);
    }

    /// A section heading, kept with the start of what follows it.
    pub fn heading(&mut self, text: &str) {
        self.heading_keeping(text, self.style.leading * 3.0);
    }

    /// The height a table needs before it may start on this page: its header and first row.
    pub fn table_start_height(&self, table: &Table) -> f32 {
        self.prepare(table).start_height(self.style)
    }

    /// A section heading kept with the next `keep` points of content.
    pub fn heading_keeping(&mut self, text: &str, keep: f32) {
        let size = self.style.heading;
        self.gap(size * 0.6);
        self.ensure(size * 1.8 + keep);
        self.lines_block(&[bold(text)], size, size * 1.3, 0.0, None, INK);
        let y = self.y + 1.0;
        self.push(Item::Line {
            x1: MARGIN,
            y1: y,
            x2: MARGIN + CONTENT_WIDTH,
            y2: y,
            width: 0.8,
            grey: RULE_GREY,
        });
        self.y += size * 0.5;
    }

    pub fn subheading(&mut self, text: &str) {
        self.subheading_keeping(text, self.style.leading * 3.0);
    }

    pub fn subheading_keeping(&mut self, text: &str, keep: f32) {
        let size = self.style.subheading;
        self.gap(size * 0.3);
        self.ensure(size * 1.3 + keep);
        self.lines_block(&[bold(text)], size, size * 1.3, 0.0, None, INK);
        self.y += size * 0.15;
    }

    /// Keeps the next `lines` body lines together: an introduction with the first item of
    /// its list.
    pub fn keep_lines(&mut self, lines: usize) {
        self.ensure(self.style.leading * lines as f32);
    }

    pub fn paragraph(&mut self, spans: &[Span]) {
        let (size, leading) = (self.style.body, self.style.leading);
        self.lines_block(spans, size, leading, 0.0, None, INK);
        self.gap(self.style.paragraph_gap);
    }

    /// A paragraph in the small size, grey: secondary details.
    pub fn small(&mut self, spans: &[Span]) {
        let size = self.style.small;
        self.lines_block(spans, size, size * 1.35, 0.0, None, 0.3);
        self.gap(self.style.paragraph_gap * 0.5);
    }

    /// A list item: a bullet, then the text with a hanging indent.
    pub fn bullet(&mut self, spans: &[Span]) {
        let (size, leading) = (self.style.body, self.style.leading);
        self.lines_block(spans, size, leading, size * 1.2, Some("•"), INK);
        self.gap(self.style.paragraph_gap * 0.35);
    }

    /// A paragraph set in from the left, e.g. the text of a note under its author line.
    pub fn indented(&mut self, spans: &[Span]) {
        let (size, leading) = (self.style.body, self.style.leading);
        self.lines_block(spans, size, leading, size * 1.2, None, INK);
        self.gap(self.style.paragraph_gap);
    }

    /// Wraps `spans` to the content width less `indent` and places the lines, breaking pages
    /// between lines.
    fn lines_block(
        &mut self,
        spans: &[Span],
        size: f32,
        leading: f32,
        indent: f32,
        marker: Option<&str>,
        grey: f32,
    ) {
        let lines = wrap(self.fonts, spans, CONTENT_WIDTH - indent, size);
        for (index, line) in lines.into_iter().enumerate() {
            self.ensure(leading);
            let baseline = baseline(self.y, size, leading);
            if index == 0 {
                if let Some(marker) = marker {
                    self.push(Item::Text {
                        x: MARGIN + indent * 0.25,
                        y: baseline,
                        face: Face::Regular,
                        size,
                        grey,
                        text: marker.to_string(),
                    });
                }
            }
            for (dx, face, text) in line {
                self.push(Item::Text {
                    x: MARGIN + indent + dx,
                    y: baseline,
                    face,
                    size,
                    grey,
                    text,
                });
            }
            self.y += leading;
        }
    }

    /// A table whose rows break across pages (a row taller than a page is split between its
    /// lines) with the header row repeated at the top of each page.
    pub fn table(&mut self, table: &Table) {
        let prepared = self.prepare(table);
        self.table_prepared(&prepared);
    }

    /// Column widths and every cell broken into lines.
    fn prepare(&self, table: &Table) -> PreparedTable {
        let style = self.style;
        let (size, leading, pad) = (style.table, style.table_leading, style.cell_padding);
        let total: f32 = table
            .columns
            .iter()
            .map(|(_, w)| w)
            .sum::<f32>()
            .max(f32::EPSILON);
        let widths: Vec<f32> = table
            .columns
            .iter()
            .map(|(_, w)| w / total * CONTENT_WIDTH)
            .collect();
        let header: Vec<Vec<LaidLine>> = table
            .columns
            .iter()
            .zip(&widths)
            .map(|((title, _), width)| {
                wrap(self.fonts, &[bold(title.as_str())], width - 2.0 * pad, size)
            })
            .collect();
        let rows = table
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&widths)
                    .map(|(spans, width)| wrap(self.fonts, spans, width - 2.0 * pad, size))
                    .collect()
            })
            .collect();
        let header_height = row_height(&header, leading, pad);
        let full_page = ((style.body_bottom() - style.body_top() - header_height - 2.0 * pad)
            / leading) as usize;
        PreparedTable {
            widths,
            header,
            rows,
            header_height,
            full_page,
        }
    }

    fn table_prepared(&mut self, prepared: &PreparedTable) {
        let style = self.style;
        let (leading, pad) = (style.table_leading, style.cell_padding);
        let PreparedTable {
            widths,
            header,
            rows,
            header_height: _,
            full_page,
        } = prepared;
        let full_page = *full_page;
        self.ensure(prepared.start_height(style));
        self.table_row(header, widths, 0, usize::MAX, true);

        for cells in rows {
            let lines = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let mut start = 0;
            while start < lines {
                let fits = ((self.room() - 2.0 * pad) / leading + 0.001)
                    .floor()
                    .max(0.0) as usize;
                let remaining = lines - start;
                let whole_row_fits_fresh = start == 0 && remaining <= full_page;
                if remaining <= fits {
                    self.table_row(cells, widths, start, remaining, false);
                    start = lines;
                } else if fits == 0 || whole_row_fits_fresh || fits < 2 {
                    self.new_page();
                    self.table_row(header, widths, 0, usize::MAX, true);
                } else {
                    self.table_row(cells, widths, start, fits, false);
                    start += fits;
                    self.new_page();
                    self.table_row(header, widths, 0, usize::MAX, true);
                }
            }
        }
        self.gap(style.paragraph_gap);
    }

    /// Places lines `start..start + count` of each cell as one row.
    fn table_row(
        &mut self,
        cells: &[Vec<LaidLine>],
        widths: &[f32],
        start: usize,
        count: usize,
        is_header: bool,
    ) {
        let style = self.style;
        let (size, leading, pad) = (style.table, style.table_leading, style.cell_padding);
        let shown = cells
            .iter()
            .map(|c| c.len().saturating_sub(start).min(count))
            .max()
            .unwrap_or(0)
            .max(1);
        let height = shown as f32 * leading + 2.0 * pad;
        if is_header {
            self.push(Item::Fill {
                x: MARGIN,
                y: self.y,
                width: CONTENT_WIDTH,
                height,
                grey: HEADER_FILL,
            });
        }
        let mut x = MARGIN;
        for (cell, width) in cells.iter().zip(widths) {
            for (i, line) in cell.iter().skip(start).take(shown).enumerate() {
                let baseline = baseline(self.y + pad + i as f32 * leading, size, leading);
                for (dx, face, text) in line {
                    self.push(Item::Text {
                        x: x + pad + dx,
                        y: baseline,
                        face: *face,
                        size,
                        grey: INK,
                        text: text.clone(),
                    });
                }
            }
            x += width;
        }
        self.y += height;
        self.push(Item::Line {
            x1: MARGIN,
            y1: self.y,
            x2: MARGIN + CONTENT_WIDTH,
            y2: self.y,
            width: if is_header { 0.9 } else { 0.4 },
            grey: RULE_GREY,
        });
    }

    /// Boxes side by side, each with a title and a few lines, and room to sign by hand.
    pub fn signature_boxes(&mut self, boxes: &[(String, Vec<String>)]) {
        let style = self.style;
        let count = boxes.len().max(1) as f32;
        let gutter = 10.0;
        let width = (CONTENT_WIDTH - gutter * (count - 1.0)) / count;
        let pad = style.cell_padding + 2.0;
        let laid: Vec<(Vec<LaidLine>, Vec<LaidLine>)> = boxes
            .iter()
            .map(|(title, details)| {
                let title = wrap(
                    self.fonts,
                    &[bold(title.as_str())],
                    width - 2.0 * pad,
                    style.body,
                );
                let details = details
                    .iter()
                    .flat_map(|d| {
                        wrap(
                            self.fonts,
                            &[regular(d.as_str())],
                            width - 2.0 * pad,
                            style.small,
                        )
                    })
                    .collect();
                (title, details)
            })
            .collect();
        let small_leading = style.small * 1.35;
        let text_height = laid
            .iter()
            .map(|(t, d)| t.len() as f32 * style.leading + d.len() as f32 * small_leading)
            .fold(0.0, f32::max);
        // Room for a handwritten signature below the text.
        let height = text_height + 2.0 * pad + 70.0;
        self.ensure(height);
        let top = self.y;
        for (i, (title, details)) in laid.iter().enumerate() {
            let x = MARGIN + i as f32 * (width + gutter);
            self.push(Item::Frame {
                x,
                y: top,
                width,
                height,
                grey: RULE_GREY,
            });
            let mut y = top + pad;
            for line in title {
                let base = baseline(y, style.body, style.leading);
                for (dx, face, text) in line {
                    self.push(Item::Text {
                        x: x + pad + dx,
                        y: base,
                        face: *face,
                        size: style.body,
                        grey: INK,
                        text: text.clone(),
                    });
                }
                y += style.leading;
            }
            for line in details {
                let base = baseline(y, style.small, small_leading);
                for (dx, face, text) in line {
                    self.push(Item::Text {
                        x: x + pad + dx,
                        y: base,
                        face: *face,
                        size: style.small,
                        grey: 0.3,
                        text: text.clone(),
                    });
                }
                y += small_leading;
            }
        }
        self.y = top + height;
        self.gap(style.paragraph_gap);
    }
}

fn row_height(cells: &[Vec<LaidLine>], leading: f32, pad: f32) -> f32 {
    cells.iter().map(Vec::len).max().unwrap_or(0).max(1) as f32 * leading + 2.0 * pad
}

/// The baseline of a line whose box starts at `top`: the glyphs sit centred in the leading.
pub(crate) fn baseline(top: f32, size: f32, leading: f32) -> f32 {
    top + (leading - size) / 2.0 + size * 0.8
}

/// What a character prints as: tabs become spaces, control characters disappear, and a
/// character the font lacks becomes « ? » rather than an empty box.
fn printable(fonts: &Fonts, ch: char) -> Option<char> {
    match ch {
        '\t' => Some(' '),
        '\n' => Some('\n'),
        c if c.is_control() => None,
        '\u{200B}' | '\u{FEFF}' | '\u{00AD}' => None,
        c if fonts.covers(c) => Some(c),
        '\u{2028}' | '\u{2029}' => Some('\n'),
        '\u{2010}' | '\u{2011}' => Some('-'),
        _ => Some('?'),
    }
}

/// Greedy line breaking at spaces with the font's advances; `\n` forces a break, and a word
/// wider than the line is cut between characters.
pub(crate) fn wrap(fonts: &Fonts, spans: &[Span], width: f32, size: f32) -> Vec<LaidLine> {
    // A word is a list of (face, char); the space before it takes the face of the text
    // around it.
    enum Token {
        Word(Vec<(Face, char)>),
        Space(Face),
        Break,
    }
    let chars: Vec<(Face, char)> = spans
        .iter()
        .flat_map(|s| {
            s.text
                .chars()
                .filter_map(|c| printable(fonts, c))
                .map(move |c| (s.face, c))
        })
        .collect();
    let mut tokens = Vec::new();
    let mut word: Vec<(Face, char)> = Vec::new();
    for (i, &(face, ch)) in chars.iter().enumerate() {
        match ch {
            // French punctuation never starts a line, and « never ends one: the space
            // around them does not break.
            ' ' if matches!(chars.get(i + 1), Some((_, ':' | ';' | '!' | '?' | '»')))
                || matches!(i.checked_sub(1).map(|j| chars[j].1), Some('«')) =>
            {
                word.push((face, ' '));
            }
            ' ' => {
                if !word.is_empty() {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                }
                tokens.push(Token::Space(face));
            }
            '\n' => {
                if !word.is_empty() {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                }
                tokens.push(Token::Break);
            }
            c => word.push((face, c)),
        }
    }
    if !word.is_empty() {
        tokens.push(Token::Word(word));
    }

    let advance = |face: Face, c: char| fonts.advance(face, c) * size;
    let mut lines: Vec<Vec<(Face, char)>> = Vec::new();
    let mut line: Vec<(Face, char)> = Vec::new();
    let mut line_width = 0.0f32;
    let mut pending_space: Option<Face> = None;
    for token in tokens {
        match token {
            Token::Space(face) => {
                if !line.is_empty() {
                    pending_space = Some(face);
                }
            }
            Token::Break => {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
                pending_space = None;
            }
            Token::Word(chars) => {
                let word_width: f32 = chars.iter().map(|&(f, c)| advance(f, c)).sum();
                let space_width = pending_space.map_or(0.0, |f| advance(f, ' '));
                if line_width + space_width + word_width <= width + 0.01 {
                    if let Some(face) = pending_space.take() {
                        line.push((face, ' '));
                    }
                    line.extend(chars);
                    line_width += space_width + word_width;
                    continue;
                }
                pending_space = None;
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                if word_width <= width + 0.01 {
                    line_width = word_width;
                    line = chars;
                    continue;
                }
                // Too long for any line: cut it where it fills the line.
                for (face, c) in chars {
                    let w = advance(face, c);
                    if line_width + w > width + 0.01 && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_width = 0.0;
                    }
                    line.push((face, c));
                    line_width += w;
                }
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }

    lines
        .into_iter()
        .map(|chars| {
            let mut runs: LaidLine = Vec::new();
            let mut x = 0.0;
            for (face, c) in chars {
                match runs.last_mut() {
                    Some((_, f, text)) if *f == face => text.push(c),
                    _ => runs.push((x, face, c.to_string())),
                }
                x += advance(face, c);
            }
            runs
        })
        .collect()
}

/// The width of `text` at `size`, for right-aligned chrome.
pub(crate) fn text_width(fonts: &Fonts, face: Face, text: &str, size: f32) -> f32 {
    fonts.width(face, text, size)
}
