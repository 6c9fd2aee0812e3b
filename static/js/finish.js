/* The close-out form: show only the questions that apply to the answers given so far. */
"use strict";
(() => {
  const form = document.getElementById("hub-install");
  const parts = [...form.querySelectorAll("[data-when]")];

  function answered(name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value : "";
  }

  function update() {
    for (const part of parts) {
      const [name, value] = part.dataset.when.split("=");
      const applies = answered(name) === value && !part.parentElement.closest("[data-when].hidden");
      part.classList.toggle("hidden", !applies);
    }
    // a nested part follows its parent: run twice so "no signal" hides with "installed"
    for (const part of parts) {
      if (part.parentElement.closest("[data-when].hidden")) part.classList.add("hidden");
    }
  }

  form.addEventListener("change", update);
  update();
})();
