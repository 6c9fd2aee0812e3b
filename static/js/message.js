/* Parsed message view: tapping a field highlights its bytes. */
"use strict";
(() => {
  const cells = [...document.querySelectorAll("#hex span")];
  let selected = null;
  document.querySelectorAll("#message-tree .node").forEach((node) => {
    node.addEventListener("click", () => {
      cells.forEach((c) => c.classList.remove("hl"));
      if (selected) selected.classList.remove("selected");
      selected = node;
      node.classList.add("selected");
      const start = Number(node.dataset.offset);
      const end = start + Number(node.dataset.length);
      for (let i = start; i < end && i < cells.length; i++) cells[i].classList.add("hl");
      if (cells[start]) cells[start].scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
  });
})();
