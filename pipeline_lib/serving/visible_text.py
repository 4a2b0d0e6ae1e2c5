"""Does a text hold anything a reader can see? Whitespace-only text is not a message, and neither
is text made only of characters that draw nothing: NUL and other control characters, format
characters (zero-width space/joiners, word joiner, BOM, bidi marks, soft hyphen), combining marks
with no base character to sit on, and the few letters Unicode defines as blank fillers.
"""

from __future__ import annotations

import unicodedata

# Control (Cc), format (Cf, e.g. U+200B..U+200D, U+2060, U+FEFF), surrogate (Cs), separators
# (Zs, Zl, Zp) and combining marks (Mn, Me: nothing to combine with when alone).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
# Letters/symbols that render as blank: Hangul fillers, halfwidth Hangul filler, braille blank.
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_visible(char: str) -> bool:
    return (char not in _BLANK_CHARACTERS and not char.isspace()
            and unicodedata.category(char) not in _INVISIBLE_CATEGORIES)


def has_visible_text(text: str) -> bool:
    """True when at least one character of `text` draws something."""
    return any(is_visible(char) for char in text)
