//! The second pass: laid-out pages, plus the running header and « Page n/N », written as PDF.
//!
//! Everything that printpdf would otherwise draw at random (font resource names, the trailer's
//! `/ID`) is fixed here from the input, so the same input gives the same bytes.

use chrono::{DateTime, Utc};
use printpdf::{
    Color, FontId, Greyscale, Line, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle,
    PdfPage, PdfParseErrorSeverity, PdfSaveOptions, Point, Pt, Rect, TextItem, WindingOrder,
};

use crate::fonts::{Face, Fonts};
use crate::layout::{self, Item, Style, INK, MARGIN, PAGE_HEIGHT, PAGE_WIDTH};
use crate::PrintError;

/// What the running header and the document information say.
pub(crate) struct Chrome {
    pub header_left: String,
    pub header_right: String,
    pub title: String,
    pub author: String,
    pub subject: String,
    /// 32 characters, the trailer's permanent `/ID` and the information dictionary's identifier.
    pub document_id: String,
    /// 32 characters, the trailer's changing `/ID`.
    pub instance_id: String,
    pub generated_at: DateTime<Utc>,
}

/// Also the fonts' `/BaseFont` names, as `pdffonts` lists them.
const REGULAR_ID: &str = "AtkinsonHyperlegibleNext-Regular";
const BOLD_ID: &str = "AtkinsonHyperlegibleNext-Bold";

pub(crate) fn write(
    fonts: &Fonts,
    style: Style,
    pages: Vec<Vec<Item>>,
    chrome: &Chrome,
) -> Result<Vec<u8>, PrintError> {
    let mut doc = PdfDocument::new(&chrome.title);
    let at = printpdf::DateTime::from_unix_timestamp(chrome.generated_at.timestamp())
        .map_err(|e| PrintError::Pdf(format!("generation time out of range: {e}")))?;
    let info = &mut doc.metadata.info;
    info.creation_date = at;
    info.modification_date = at;
    info.metadata_date = at;
    info.author = chrome.author.clone();
    info.subject = chrome.subject.clone();
    info.creator = "Tandem".to_string();
    info.producer = "Tandem (printpdf)".to_string();
    info.identifier = chrome.document_id.clone();
    for (id, font) in [(REGULAR_ID, &fonts.regular), (BOLD_ID, &fonts.bold)] {
        doc.resources
            .fonts
            .map
            .insert(FontId(id.to_string()), printpdf::PdfFont::new(font.clone()));
    }

    let total = pages.len();
    let pdf_pages = pages
        .into_iter()
        .enumerate()
        .map(|(index, items)| {
            let mut ops = Vec::with_capacity(items.len() * 6 + 40);
            for item in chrome_items(fonts, style, chrome, index + 1, total)
                .iter()
                .chain(&items)
            {
                push_ops(&mut ops, item);
            }
            PdfPage::new(Mm(210.0), Mm(297.0), ops)
        })
        .collect();

    let options = PdfSaveOptions {
        optimize: true,
        // Subsetting needs printpdf's `text_layout` feature; the two faces weigh 48 KB each,
        // so embedding them whole keeps the dependency tree small at little cost.
        subset_fonts: false,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let bytes = doc.with_pages(pdf_pages).save(&options, &mut warnings);
    if let Some(error) = warnings
        .iter()
        .find(|w| w.severity == PdfParseErrorSeverity::Error)
    {
        return Err(PrintError::Pdf(error.msg.clone()));
    }
    fix_trailer_id(bytes, &chrome.document_id, &chrome.instance_id)
}

/// The running header (name, interview date, a rule) and the footer (« Page n/N »).
fn chrome_items(
    fonts: &Fonts,
    style: Style,
    chrome: &Chrome,
    page: usize,
    total: usize,
) -> Vec<Item> {
    let size = style.chrome;
    let header_baseline = MARGIN + size;
    let right = PAGE_WIDTH - MARGIN;
    let page_label = format!("Page {page}/{total}");
    let footer_baseline = PAGE_HEIGHT - MARGIN;
    vec![
        Item::Text {
            x: MARGIN,
            y: header_baseline,
            face: Face::Bold,
            size,
            grey: INK,
            text: chrome.header_left.clone(),
        },
        Item::Text {
            x: right - layout::text_width(fonts, Face::Regular, &chrome.header_right, size),
            y: header_baseline,
            face: Face::Regular,
            size,
            grey: INK,
            text: chrome.header_right.clone(),
        },
        Item::Line {
            x1: MARGIN,
            y1: header_baseline + size * 0.45,
            x2: right,
            y2: header_baseline + size * 0.45,
            width: 0.6,
            grey: 0.55,
        },
        Item::Text {
            x: MARGIN,
            y: footer_baseline,
            face: Face::Regular,
            size,
            grey: 0.3,
            text: chrome.title.clone(),
        },
        Item::Text {
            x: right - layout::text_width(fonts, Face::Bold, &page_label, size),
            y: footer_baseline,
            face: Face::Bold,
            size,
            grey: INK,
            text: page_label,
        },
    ]
}

fn grey(level: f32) -> Color {
    Color::Greyscale(Greyscale::new(level, None))
}

fn point(x: f32, y_from_top: f32) -> Point {
    Point {
        x: Pt(x),
        y: Pt(PAGE_HEIGHT - y_from_top),
    }
}

fn push_ops(ops: &mut Vec<Op>, item: &Item) {
    match item {
        Item::Text {
            x,
            y,
            face,
            size,
            grey: level,
            text,
        } => {
            let id = match face {
                Face::Regular => REGULAR_ID,
                Face::Bold => BOLD_ID,
            };
            ops.extend([
                Op::SetFillColor { col: grey(*level) },
                Op::StartTextSection,
                Op::SetFont {
                    font: PdfFontHandle::External(FontId(id.to_string())),
                    size: Pt(*size),
                },
                Op::SetTextCursor { pos: point(*x, *y) },
                Op::ShowText {
                    items: vec![TextItem::Text(text.clone())],
                },
                Op::EndTextSection,
            ]);
        }
        Item::Line {
            x1,
            y1,
            x2,
            y2,
            width,
            grey: level,
        } => ops.extend([
            Op::SetOutlineColor { col: grey(*level) },
            Op::SetOutlineThickness { pt: Pt(*width) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint {
                            p: point(*x1, *y1),
                            bezier: false,
                        },
                        LinePoint {
                            p: point(*x2, *y2),
                            bezier: false,
                        },
                    ],
                    is_closed: false,
                },
            },
        ]),
        Item::Fill {
            x,
            y,
            width,
            height,
            grey: level,
        } => ops.extend([
            Op::SetFillColor { col: grey(*level) },
            Op::DrawRectangle {
                rectangle: rect(*x, *y, *width, *height, PaintMode::Fill),
            },
        ]),
        Item::Frame {
            x,
            y,
            width,
            height,
            grey: level,
        } => ops.extend([
            Op::SetOutlineColor { col: grey(*level) },
            Op::SetOutlineThickness { pt: Pt(0.8) },
            Op::DrawRectangle {
                rectangle: rect(*x, *y, *width, *height, PaintMode::Stroke),
            },
        ]),
    }
}

fn rect(x: f32, y_top: f32, width: f32, height: f32, mode: PaintMode) -> Rect {
    Rect {
        x: Pt(x),
        y: Pt(PAGE_HEIGHT - y_top - height),
        width: Pt(width),
        height: Pt(height),
        mode: Some(mode),
        winding_order: Some(WindingOrder::NonZero),
    }
}

/// printpdf fills the trailer's `/ID` with two strings from a process-wide counter, so two
/// renders of the same input differ. Both are 32-character literal strings in the plain-text
/// trailer (printpdf writes a classic cross-reference table), so they are overwritten in place
/// with same-length strings derived from the input: no offset moves.
fn fix_trailer_id(
    mut bytes: Vec<u8>,
    document_id: &str,
    instance_id: &str,
) -> Result<Vec<u8>, PrintError> {
    let missing = || PrintError::Pdf("the trailer has no 32-character /ID pair".to_string());
    if document_id.len() != 32 || instance_id.len() != 32 {
        return Err(missing());
    }
    let trailer = find_last(&bytes, b"trailer").ok_or_else(missing)?;
    let id = trailer + find_last(&bytes[trailer..], b"/ID").ok_or_else(missing)?;
    let mut at = id;
    for replacement in [document_id, instance_id] {
        let open = at
            + bytes[at..]
                .iter()
                .position(|&b| b == b'(')
                .ok_or_else(missing)?;
        let close = open + 33;
        if bytes.get(close) != Some(&b')') {
            return Err(missing());
        }
        bytes[open + 1..close].copy_from_slice(replacement.as_bytes());
        at = close + 1;
    }
    Ok(bytes)
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}
