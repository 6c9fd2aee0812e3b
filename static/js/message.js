/* Parsed message view: tapping a field shows its bytes right under it and highlights them in
   the full list of bytes. */
"use strict";
(() => {
  const cells = [...document.querySelectorAll("#hex span")];
  // A long field (a whole header) shows its start here; all of it is highlighted below.
  const SHOWN_BYTES = 48;
  const shown = document.createElement("div");
  shown.className = "node-bytes mono";
  shown.id = "node-bytes";
  shown.setAttribute("role", "status");
  let selected = null;

  const byteRange = (node) => {
    const start = Number(node.dataset.offset);
    const end = Math.min(start + Number(node.dataset.length), cells.length);
    return [start, end];
  };

  const describe = (start, end) => {
    const count = end - start;
    const what = `${count} byte${count === 1 ? "" : "s"}, from byte ${start + 1}`;
    const pairs = cells.slice(start, Math.min(end, start + SHOWN_BYTES)).map((c) => c.textContent);
    const caption = document.createElement("span");
    caption.className = "muted small";
    caption.textContent = what;
    const bytes = document.createElement("span");
    bytes.className = "node-hex";
    pairs.forEach((pair) => {
      const cell = document.createElement("span");
      cell.textContent = pair;
      if (pair === "··") cell.className = "withheld";
      bytes.append(cell);
    });
    if (count > SHOWN_BYTES) {
      const more = document.createElement("span");
      more.className = "muted small";
      more.textContent = `… and ${count - SHOWN_BYTES} more, highlighted in the full list below`;
      bytes.append(more);
    }
    shown.replaceChildren(caption, bytes);
  };

  const select = (node) => {
    cells.forEach((c) => c.classList.remove("hl"));
    if (selected) {
      selected.classList.remove("selected");
      selected.removeAttribute("aria-pressed");
    }
    selected = node;
    node.classList.add("selected");
    node.setAttribute("aria-pressed", "true");
    const [start, end] = byteRange(node);
    for (let i = start; i < end; i++) cells[i].classList.add("hl");
    describe(start, end);
    node.after(shown);
  };

  document.querySelectorAll("#message-tree .node").forEach((node) => {
    node.addEventListener("click", () => select(node));
  });
})();
