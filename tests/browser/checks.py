"""Accessibility checks for a page open in a browser (Playwright), used by every browser test.

`audit_page(page, elderly=...)` runs axe-core for WCAG 2.0/2.1/2.2 A and AA, then the checks axe
cannot make: in elderly mode every target is at least 60x60 px, every piece of text at least
24 px (18 pt, the MIIT figure for 适老化 pages: hints, metadata and chart labels too) with a line
height of at least 1.5; in every mode the Tab key reaches every control, each one with a visible
focus indicator that nothing covers. It returns a list of problems (empty when
the page passes), so a test can assert `== []` and print them all at once.

Only tests import this module: it needs the `playwright` and `axe-playwright-python` packages
from the [test] extra.
"""

from __future__ import annotations

import os

from axe_playwright_python.sync_playwright import Axe

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ELDERLY_TARGET_PX = 60
ELDERLY_TEXT_PX = 24
ELDERLY_LINE_HEIGHT = 1.5

_axe = Axe()

# Elements a person can click or focus. Hidden inputs and elements outside the page (such as the
# skip link before it is focused) are not targets.
_VISIBLE_TARGETS_JS = """
() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, ' +
                   '[role=button], [tabindex]:not([tabindex="-1"])';
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.right <= 0 || r.bottom <= 0 || (r.width <= 1 && r.height <= 1)) continue;
    out.push({tag: el.tagName.toLowerCase(),
              text: (el.innerText || el.value || el.name || '').trim().slice(0, 40),
              width: Math.round(r.width * 10) / 10, height: Math.round(r.height * 10) / 10});
  }
  return out;
}
"""

_TEXT_SIZES_JS = """
() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    if (!text) continue;
    const el = node.parentElement;
    if (!el || el.closest('script, style, template, option')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect();
    // visually hidden
    if (r.width <= 1 || r.height <= 1 || r.right <= 0 || r.bottom <= 0) continue;
    const size = parseFloat(style.fontSize);
    const lh = style.lineHeight === 'normal' ? 1.2 : parseFloat(style.lineHeight) / size;
    out.push({text: text.slice(0, 40), tag: el.tagName.toLowerCase(), size: size,
              lineHeight: Math.round(lh * 100) / 100});
  }
  return out;
}
"""

# Mark every control that should be reachable by Tab; radio groups count once (arrow keys move
# within a group, Tab moves between groups).
_TAB_STOPS_JS = """
() => {
  const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), ' +
                   'select:not([disabled]), textarea:not([disabled]), summary, [tabindex], ' +
                   'audio[controls], video[controls]';
  const stops = [];
  let n = 0;
  for (const el of document.querySelectorAll(selector)) {
    if (el.tabIndex < 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    const key = (el.type === 'radio') ? 'radio:' + el.name : 'stop:' + (n++);
    el.dataset.tabStop = key;
    if (!stops.includes(key)) stops.push(key);
  }
  return stops;
}
"""

_FOCUS_STATE_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const cx = Math.min(Math.max(r.left + r.width / 2, 0), window.innerWidth - 1);
  const cy = Math.min(Math.max(r.top + r.height / 2, 0), window.innerHeight - 1);
  const top = document.elementFromPoint(cx, cy);
  const covered = !(top && (top === el || el.contains(top) ||
                    (top.tagName === 'LABEL' && top.control === el)));
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 &&
                  !/rgba\\(0, 0, 0, 0\\)|transparent/.test(style.outlineColor);
  const ring = style.boxShadow && style.boxShadow !== 'none';
  return {key: el.dataset.tabStop || null, tag: el.tagName.toLowerCase(),
          text: (el.innerText || el.value || el.name || '').trim().slice(0, 40),
          visibleIndicator: outline || ring, covered: covered,
          inViewport: r.bottom > 0 && r.top < window.innerHeight &&
                      r.right > 0 && r.left < window.innerWidth};
}
"""


_TWO_FRAMES_JS = (
    "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
)


def axe_violations(page) -> list[str]:
    # axe-core is put into the page once per document (it is half a megabyte), and only the
    # violations come back: the whole result (every rule's passes) was most of the transfer.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe.axe_script)
    violations = page.evaluate(
        "(options) => axe.run(document, options).then(results => results.violations)",
        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    problems = []
    for violation in violations:
        for node in violation["nodes"]:
            problems.append(
                f"axe {violation['id']} ({violation['impact']}): "
                f"{', '.join(map(str, node['target']))}: {node.get('failureSummary', '')[:200]}"
            )
    return problems


def small_targets(page, minimum: int = ELDERLY_TARGET_PX) -> list[str]:
    return [
        f"target {t['tag']} '{t['text']}' is {t['width']}x{t['height']}px, "
        f"under {minimum}x{minimum}"
        for t in page.evaluate(_VISIBLE_TARGETS_JS)
        if t["width"] < minimum - 0.5 or t["height"] < minimum - 0.5
    ]


def small_text(
    page, minimum: int = ELDERLY_TEXT_PX, line_height: float = ELDERLY_LINE_HEIGHT
) -> list[str]:
    problems = []
    for t in page.evaluate(_TEXT_SIZES_JS):
        if t["size"] < minimum - 0.05:
            problems.append(f"text <{t['tag']}> '{t['text']}' is {t['size']}px, under {minimum}px")
        elif t["lineHeight"] < line_height - 0.01:
            problems.append(
                f"text <{t['tag']}> '{t['text']}' has line height {t['lineHeight']}, "
                f"under {line_height}"
            )
    return problems


def keyboard_focus_problems(page, max_presses: int = 250) -> list[str]:
    """Tab from the top of the page to the end: every control is reached, with a visible,
    uncovered focus indicator."""
    expected = page.evaluate(_TAB_STOPS_JS)
    # Start from the top of the document whatever has focus now (e.g. a focused error summary):
    # an unfocusable-by-Tab marker at the start of <body> becomes the navigation starting point.
    page.evaluate("""() => { const m = document.createElement('span'); m.id = '__tab_start';
        m.tabIndex = -1; document.body.prepend(m); m.focus(); window.scrollTo(0, 0); }""")
    reached, problems = [], []
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        state = page.evaluate(_FOCUS_STATE_JS)
        if reached and state is not None and state["key"] == reached[-1]:
            continue  # the next button inside a media player's own controls (<audio controls>)
        if state is None or (state["key"] and state["key"] in reached):
            break  # back to the browser chrome or round to the start
        if state["key"] is None:
            problems.append(
                f"focus reached <{state['tag']}> '{state['text']}' that is not a control"
            )
            continue
        reached.append(state["key"])
        if state["covered"] or not state["inViewport"]:
            # Scrolling the focused control into view may finish a frame later on a busy
            # machine: look again after two frames before calling it hidden.
            page.evaluate(_TWO_FRAMES_JS)
            state = page.evaluate(_FOCUS_STATE_JS) or state
        label = f"<{state['tag']}> '{state['text']}'"
        if not state["visibleIndicator"]:
            problems.append(f"focus on {label} has no visible indicator")
        if state["covered"] or not state["inViewport"]:
            problems.append(f"focus on {label} is hidden or covered")
    page.evaluate("() => document.getElementById('__tab_start').remove()")
    missing = [key for key in expected if key not in reached]
    if missing:
        problems.append(
            f"Tab never reached {len(missing)} control(s): "
            + ", ".join(
                page.evaluate(
                    "(keys) => keys.map(k => { const el = document.querySelector("
                    '`[data-tab-stop="${k}"]`); return el ? el.outerHTML.slice(0, 80) : k; })',
                    missing,
                )
            )
        )
    return problems


# What a page is made of, for `audit_page` to audit each kind of page once: its address with
# numbers taken out, the viewport's width, and the set of distinct elements, each as its tag,
# id, classes, attribute names (but data-*, and a control's value and whether it is chosen),
# type, role and language (numbers taken out: "booking-12" is "booking-N").
# An error summary, a flash message, a dialog, another mode, scheme or language (classes and
# `lang` on <html>) or a control more or fewer of a kind makes another fingerprint.
_FINGERPRINT_JS = """
() => {
  const kinds = new Set();
  const plain = (s) => (s || '').replace(/[0-9]+/g, 'N');
  for (const el of document.querySelectorAll('*')) {
    const names = Array.from(el.attributes, (a) => a.name)
      .filter((n) => !n.startsWith('data-') && !['value', 'checked', 'selected'].includes(n))
      .sort().join(',');
    kinds.add([el.tagName, plain(el.id), plain(el.getAttribute('class')), names,
               el.getAttribute('type') || '', el.getAttribute('role') || '',
               el.getAttribute('lang') || ''].join('|'));
  }
  return [plain(location.pathname), String(window.innerWidth),
          ...Array.from(kinds).sort()].join('\\n');
}
"""
_audited: set[str] = set()
AUDIT_EVERY_PAGE = os.environ.get("AUDIT_EVERY_PAGE", "") not in ("", "0")


def audit_page(page, *, elderly: bool) -> list[str]:
    """Every problem the page has in its current mode; [] when it passes. Waits for the page
    (stylesheet included) to finish loading first, so a page reached by a click is measured as
    the person sees it, not half-loaded.

    Within one test process each kind of page is audited once per mode: a page made of the same
    elements as one already audited (the same address but for ids, the same width, the same set
    of tags, ids, classes and attributes: another booking's confirmation, another day's table)
    passes as that one did, because what axe and the checks below read is those elements and
    their styles. The first third of the audits in a run were such repeats. AUDIT_EVERY_PAGE=1
    audits every page anyway."""
    page.wait_for_load_state("load")
    if not AUDIT_EVERY_PAGE:
        fingerprint = f"{elderly}\n" + page.evaluate(_FINGERPRINT_JS)
        if fingerprint in _audited:
            return []
    problems = axe_violations(page)
    if elderly:
        problems += small_targets(page)
        problems += small_text(page)
    problems += keyboard_focus_problems(page)
    if not AUDIT_EVERY_PAGE and not problems:  # a page with problems is audited again
        _audited.add(fingerprint)
    return problems
