//! The vendored Atkinson Hyperlegible Next faces, parsed once, and their glyph advances for
//! line breaking.

use std::sync::OnceLock;

use printpdf::ParsedFont;

use crate::PrintError;

const REGULAR: &[u8] = include_bytes!("../fonts/AtkinsonHyperlegibleNext-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/AtkinsonHyperlegibleNext-Bold.ttf");

/// Which of the two embedded faces a piece of text uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

pub(crate) struct Fonts {
    pub regular: ParsedFont,
    pub bold: ParsedFont,
}

/// Parsing a face takes about a millisecond; every render shares the result.
pub(crate) fn fonts() -> Result<&'static Fonts, PrintError> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Ok(Fonts {
                regular: parse(REGULAR, "regular")?,
                bold: parse(BOLD, "bold")?,
            })
        })
        .as_ref()
        .map_err(|message| PrintError::Font(message.clone()))
}

fn parse(bytes: &[u8], name: &str) -> Result<ParsedFont, String> {
    let mut warnings = Vec::new();
    ParsedFont::from_bytes(bytes, 0, &mut warnings)
        .ok_or_else(|| format!("the embedded {name} face cannot be parsed: {warnings:?}"))
}

impl Fonts {
    pub fn face(&self, face: Face) -> &ParsedFont {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    /// The advance of `ch` in em (1.0 = the font size).
    pub fn advance(&self, face: Face, ch: char) -> f32 {
        let font = self.face(face);
        let gid = font.lookup_glyph_index(ch as u32).unwrap_or(0);
        let width = font.get_glyph_width(gid).unwrap_or(0);
        f32::from(width) / f32::from(font.units_per_em.max(1))
    }

    pub fn width(&self, face: Face, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(face, c)).sum::<f32>() * size
    }

    /// Whether both faces draw `ch` (so it never prints as an empty box).
    pub fn covers(&self, ch: char) -> bool {
        self.regular.lookup_glyph_index(ch as u32).is_some()
            && self.bold.lookup_glyph_index(ch as u32).is_some()
    }
}
