"""What every page must be, measured in the browser: no serious or critical axe-core finding,
no sideways scrolling, and every visible control big enough to tap. Browser tests call
:func:`page_problems` (or its parts) on whatever page they have open.

The size rule (WCAG 2.2): at least ``INSTALLER_TARGET_PX`` square on the installer's pages
(2.5.5, the doorstep: one hand, gloves) and ``TARGET_PX`` elsewhere (2.5.8, AA). A control
is measured by its bounding box; a checkbox or radio button wrapped in its ``<label>`` by
the label's (the whole label takes the tap). Exempt, as 2.5.8's "inline" exception allows:
a link inside a paragraph (``<p>``) that has words of its own besides its links, i.e. a
link in a sentence, whose height is the line's. A link alone in a table cell, a list item
or a ``<div>`` is a target like a button, however short its text.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.base import AXE_SCRIPT

PHONES = ({"width": 360, "height": 640}, {"width": 390, "height": 844})
INSTALLER_TARGET_PX = 44
TARGET_PX = 24
BLOCKING_IMPACTS = ("serious", "critical")
#: Findings of lesser impact that fail a page all the same: content outside any landmark
#: (every page had it once: the radio banner).
BLOCKING_RULES = ("region",)
#: Bounding boxes come in fractions of a pixel (rem sizes): 43.99 is 44.
SIZE_TOLERANCE_PX = 0.05
#: The elements listed when a page scrolls sideways (the widest first).
OVERFLOW_LISTED = 5
#: A page is measured once its DOM has not changed for this long (its scripts have drawn
#: what their first answers brought), or after ``SETTLE_LIMIT_MS`` whatever it does. A page
#: that waits for its socket's first snapshot says what to wait for (a test's own step).
QUIET_MS = 300
SETTLE_LIMIT_MS = 5000

SETTLE_JS = """
([quiet, limit]) => new Promise((resolve) => {
  let timer = setTimeout(done, quiet);
  const observer = new MutationObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(done, quiet);
  });
  const cap = setTimeout(done, limit);
  function done() { observer.disconnect(); clearTimeout(timer); clearTimeout(cap); resolve(); }
  const everything = { subtree: true, childList: true, attributes: true, characterData: true };
  observer.observe(document.documentElement, everything);
})
"""

CONTROLS_JS = """
([minimum, tolerance]) => {
  const CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[role=button], [role=link], [role=checkbox], [role=radio], [role=tab], [role=switch]";
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    else if (el.classList.length) name += "." + [...el.classList].join(".");
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
    return text ? `${name} "${text.replace(/\\s+/g, " ").slice(0, 40)}"` : name;
  };
  const inSentence = (el) => {
    // 2.5.8's inline exception: a link among a paragraph's own words
    const paragraph = el.tagName === "A" ? el.closest("p") : null;
    if (!paragraph) return false;
    const walker = document.createTreeWalker(paragraph, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement.closest("a") && node.textContent.trim()) return true;
    }
    return false;
  };
  const small = [];
  for (const el of document.querySelectorAll(CONTROLS)) {
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    if (inSentence(el)) continue;
    const wrapping = (el.type === "checkbox" || el.type === "radio") ? el.closest("label") : null;
    const target = wrapping || el;
    const box = target.getBoundingClientRect();
    if (box.width + tolerance < minimum || box.height + tolerance < minimum) {
      small.push(`${describe(target)} ${box.width.toFixed(1)}x${box.height.toFixed(1)}`);
    }
  }
  return small;
}
"""

OVERFLOW_JS = """
(listed) => {
  const width = document.documentElement.clientWidth;
  const over = document.documentElement.scrollWidth - width;
  if (over <= 0) return [];
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > width + 1))
    .map((el) => {
      const box = el.getBoundingClientRect();
      let name = el.tagName.toLowerCase();
      if (el.id) name += "#" + el.id;
      else if (el.classList.length) name += "." + [...el.classList].join(".");
      return [box.right, `${name} (right edge at ${box.right.toFixed(0)} px)`];
    })
    .sort((a, b) => b[0] - a[0])
    .slice(0, listed)
    .map((pair) => pair[1]);
  return [`the page is ${over} px wider than the ${width} px viewport: ${wide.join("; ")}`];
}
"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every rule axe runs by default);
    axe-core is put in the page once per load (the page's CSP does not apply to it)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate("axe.run(document, { resultTypes: ['violations'] })")["violations"]


def axe_version(page: Any) -> str:
    """The version of axe-core that :func:`axe_violations` ran on ``page``."""
    return page.evaluate("axe.version")


def blocking_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations, and those of ``BLOCKING_RULES``: rule,
    impact and each node's selector."""
    return [
        f"axe {v['id']} ({v['impact']}): {', '.join(' '.join(n['target']) for n in v['nodes'])}"
        for v in axe_violations(page)
        if v["impact"] in BLOCKING_IMPACTS or v["id"] in BLOCKING_RULES
    ]


def sideways_scroll(page: Any) -> list[str]:
    """How far the page scrolls sideways, and the elements that stick out; [] when none."""
    return page.evaluate(OVERFLOW_JS, OVERFLOW_LISTED)


def small_controls(page: Any, minimum: int) -> list[str]:
    """Visible controls smaller than ``minimum`` CSS px either way (see the module's rule)."""
    return [
        f"control under {minimum}x{minimum}: {each}"
        for each in page.evaluate(CONTROLS_JS, [minimum, SIZE_TOLERANCE_PX])
    ]


def settle(page: Any) -> None:
    """Wait until the page's DOM is quiet (see ``QUIET_MS``)."""
    page.evaluate(SETTLE_JS, [QUIET_MS, SETTLE_LIMIT_MS])


def page_problems(page: Any, minimum: int) -> list[str]:
    """Everything wrong with the open page at each phone size (the page is not reloaded),
    once it has settled."""
    settle(page)
    problems = []
    for size in PHONES:
        page.set_viewport_size(size)
        found = sideways_scroll(page) + small_controls(page, minimum) + blocking_violations(page)
        problems += [f"{size['width']}x{size['height']}: {each}" for each in found]
    return problems
