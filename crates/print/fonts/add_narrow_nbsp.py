"""Adds U+202F NARROW NO-BREAK SPACE to the vendored Atkinson Hyperlegible Next fonts.

French typography puts a narrow no-break space before « : ; ! ? » and inside « … », and the
upstream files stop at U+2009 THIN SPACE. The added glyph is an empty glyph with the advance of
the thin space, so the text reads back as U+202F. Run once with fontTools:

    python3 add_narrow_nbsp.py IN.ttf OUT.ttf
"""

import sys

from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph

source, target = sys.argv[1], sys.argv[2]
font = TTFont(source)
cmap = font.getBestCmap()
if 0x202F not in cmap:
    thin = cmap[0x2009]
    name = "uni202F"
    order = font.getGlyphOrder() + [name]
    font.setGlyphOrder(order)
    font["glyf"].glyphs[name] = Glyph()
    font["glyf"].glyphOrder = order
    font["hmtx"].metrics[name] = font["hmtx"].metrics[thin]
    font["maxp"].numGlyphs = len(order)
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap[0x202F] = name
font.save(target)
