"""Make the fonts the PDF documents embed: DejaVu Sans 2.37, cut down to the scripts they write.

The full DejaVu Sans holds 6,253 glyphs (Arabic, Hebrew, Georgian, Braille…). fpdf2 reads the
font's tables for every document it makes, then subsets it into the PDF: with the full font that
reading was half of a report's rendering time. The committed files keep what a French ministry's
documents can hold — every Latin letter (French, other European languages, Vietnamese), Greek,
Cyrillic, punctuation, currency, arrows, mathematical and box-drawing signs, geometric shapes and
common symbols — about 2,900 glyphs, outlines and widths unchanged. Their names stay « DejaVu Sans »
(the Bitstream Vera licence, in ``LICENSE``, asks a modified font not to be called Vera).

Run it on the upstream release files (the first commit of ``handlers/documents/fonts`` holds them)::

    git show 5f8f856:handlers/documents/fonts/DejaVuSans.ttf > /tmp/DejaVuSans.ttf
    git show 5f8f856:handlers/documents/fonts/DejaVuSans-Bold.ttf > /tmp/DejaVuSans-Bold.ttf
    python tools/subset_fonts.py /tmp/DejaVuSans.ttf /tmp/DejaVuSans-Bold.ttf

``tests/test_documents.py`` checks that every character of the catalogs that a document can show is
in the committed fonts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FONTS = Path(__file__).resolve().parents[1] / "handlers" / "documents" / "fonts"

# Unicode blocks kept, first and last code point.
BLOCKS = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B (Œ, ș, ț…)
    (0x0250, 0x036F),  # IPA, spacing modifiers, combining diacritics (text typed decomposed)
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x052F),  # Cyrillic and its supplement
    (0x1D00, 0x1DBF),  # phonetic extensions: the superscript letters of « 2ᵉ », « 1ʳᵉ »
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese…)
    (0x2000, 0x206F),  # General Punctuation: the narrow no-break space, « — … ’ », bullets
    (0x2070, 0x209F),  # superscripts and subscripts
    (0x20A0, 0x20CF),  # currency signs: €
    (0x2100, 0x218F),  # letterlike symbols (№, ™) and number forms (½)
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x23FF),  # mathematical operators (≤ ≥ × −) and technical signs
    (0x2460, 0x24FF),  # enclosed alphanumerics
    (0x2500, 0x25FF),  # box drawing, blocks, geometric shapes
    (0x2600, 0x27BF),  # miscellaneous symbols and dingbats (⚠ ✓ ✗)
    (0xFB00, 0xFB06),  # Latin ligatures (ﬁ)
    (0xFE00, 0xFE0F),  # variation selectors (the invisible one after « ⚠ » in « ⚠️ »)
    (0xFFFD, 0xFFFD),  # the replacement character
)


def kept_code_points() -> list[int]:
    return [cp for first, last in BLOCKS for cp in range(first, last + 1)]


def subset_font(source: Path, target: Path) -> int:
    """Write ``source`` cut down to :data:`BLOCKS` at ``target``; the number of glyphs kept."""
    options = subset.Options()
    options.name_IDs = ["*"]  # the name table whole: family, version, copyright, licence
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = True
    # What fpdf2 drops when it embeds the font anyway: OpenType layout (it does not shape text) and
    # TrueType hinting (PDF viewers rasterise without it).
    options.layout_features = []
    options.hinting = False
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "FFTM"]
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=kept_code_points())
    subsetter.subset(font)
    font.save(target)
    return len(font.getGlyphOrder())


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for source in map(Path, argv):
        glyphs = subset_font(source, FONTS / source.name)
        print(f"{source.name}: {glyphs} glyphs, {(FONTS / source.name).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
