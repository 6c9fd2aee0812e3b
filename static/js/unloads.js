/* Unload page: "Make unload" downloads the new unload's file in the same tap, then the page
   reloads so the new unload (and its "Confirm received") is listed. Without this script the
   form's answer is the file all the same. */
"use strict";
(() => {
  const fileName = (response) => {
    const header = response.headers.get("Content-Disposition") || "";
    const match = /filename="?([^";]+)"?/.exec(header);
    return match ? match[1] : "unload.zip";
  };

  const save = (blob, name) => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
  };
  // Long enough for the browser to take the file before the page goes.
  const RELOAD_AFTER_MS = 500;

  document.querySelectorAll("form.make-unload").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      button.textContent = "Making the unload…";
      try {
        const response = await fetch(form.action || location.href, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
        });
        if (response.ok && response.headers.get("Content-Type") === "application/zip") {
          save(await response.blob(), fileName(response));
          setTimeout(() => location.reload(), RELOAD_AFTER_MS);
          return;
        }
      } catch (error) {
        /* the plain form below says what went wrong */
      }
      form.submit();
    });
  });
})();
