"""The calculation method, written once in docs/methode.md: the Référentiel page shows it, the Excel report's
« Méthode » sheet writes it, the README links to it."""

from __future__ import annotations

import re
from functools import lru_cache

from indicators.settings import PROJECT_DIR

METHOD_FILE = PROJECT_DIR / "docs" / "methode.md"
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)


@lru_cache(maxsize=1)
def method_markdown() -> str:
    """The method as Markdown, without its title (the page and the sheet give their own)."""
    text = _COMMENT.sub("", METHOD_FILE.read_text(encoding="utf-8"))
    return re.sub(r"\A#[^\n]*\n", "", text.lstrip()).strip()


def method_lines() -> list[str]:
    """One plain-text line per paragraph and per rule, as a spreadsheet cell shows it: « Fenêtre : … »."""
    lines: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=- )", method_markdown()):
        flat = " ".join(block.split())
        flat = flat[2:] if flat.startswith("- ") else flat
        lines.append(flat.replace("**", "").replace("`", ""))
    return [line for line in lines if line]
