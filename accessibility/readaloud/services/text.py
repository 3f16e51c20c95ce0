"""The words of a page's main content, as a screen reader would meet them, for read-aloud.

Read with the standard library's HTML parser (the portal's own server-rendered pages; no
dependency for this). Only the page's <main> counts: the header, navigation and footer are the
same on every page and not what a person asks to hear. Inside it, what is not shown to anyone is
left out (scripts, styles, `hidden`, `aria-hidden="true"`, the read-aloud control itself:
`data-readaloud-skip`); text hidden only visually (`visually-hidden`, written for screen readers)
is kept. Each block (a heading, paragraph, list item, table row, label, hint, error) becomes one
line, so the synthesiser pauses between them; table cells are separated by a comma. An image
reads as its alt text; form fields read their label, hint and error, never the typed values (a
password field has one), and a list box only its chosen option.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
SKIPPED = {"script", "style", "template", "noscript", "svg", "textarea", "datalist", "audio"}
BLOCKS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "label",
    "legend",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "section",
    "summary",
    "table",
    "tr",
    "ul",
}
CELLS = {"td", "th"}
SPACES = re.compile(r"\s+")


class _MainText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, skipped, is main)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.lang = ""
        self.found_main = False

    # -- where we are --------------------------------------------------------------------------
    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def _in_main(self) -> bool:
        return any(is_main for _, _, is_main in self.stack)

    def _break(self) -> None:
        text = SPACES.sub(" ", "".join(self.line)).strip(" ,，")
        if text:
            self.lines.append(text)
        self.line = []

    # -- parser callbacks ----------------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html" and not self.lang:
            self.lang = (attributes.get("lang") or "").lower()
        if tag in VOID:
            self._void(tag, attributes)
            return
        parent_skipped = self._skipping()
        is_main = tag == "main" and not self.found_main
        self.found_main = self.found_main or is_main
        skipped = parent_skipped or (
            tag in SKIPPED
            or "hidden" in attributes
            or attributes.get("aria-hidden") == "true"
            or "data-readaloud-skip" in attributes
            or (tag == "option" and "selected" not in attributes)
        )
        self.stack.append((tag, skipped, is_main))
        if not skipped and self._in_main():
            if tag in BLOCKS:
                self._break()
            elif tag in CELLS and self.line:
                self.line.append("， " if self.lang.startswith("zh") else ", ")

    def _void(self, tag, attributes):
        if self._skipping() or not self._in_main():
            return
        if tag in ("br", "hr"):
            self._break()
        elif tag == "img" and attributes.get("alt"):
            self.line.append(" " + attributes["alt"] + " ")

    def handle_endtag(self, tag):
        if tag in VOID or not any(open_tag == tag for open_tag, _, _ in self.stack):
            return  # a stray end tag: HTML ignores it too
        while self.stack:
            open_tag, skipped, _ = self.stack[-1]
            if not skipped and self._in_main() and (open_tag in BLOCKS):
                self._break()
            self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.stack and not self._skipping() and self._in_main():
            self.line.append(data)


def main_text(html: str) -> tuple[str, str]:
    """(the text of the page's first <main>, one block a line; the page's `lang`, lower case).
    Empty text if the page has no <main>. Never raises on malformed HTML."""
    parser = _MainText()
    parser.feed(html)
    parser.close()
    parser._break()
    return "\n".join(parser.lines), parser.lang
