/* Find the hub: scan, pick (expected first, others flagged), connect with stages. */
"use strict";
(() => {
  const page = document.getElementById("hub-page");
  const jobId = page.dataset.jobId;
  const errorBox = document.getElementById("hub-error");
  const list = document.getElementById("beacons");
  const scanBtn = document.getElementById("scan");
  const FLAGS = {
    expected: "This job's hub",
    "other-job": "Another job's hub",
    neighbour: "Neighbour's network",
    unknown: "Unknown network",
    spoof: "Suspicious copy of this job's hub id",
  };
  const stages = [...document.querySelectorAll("#stages li")].map((li) => li.dataset.stage);

  function bars(lqi) { return lqi > 200 ? "Strong" : lqi > 150 ? "Good" : lqi > 100 ? "Fair" : lqi > 50 ? "Weak" : "Very weak"; }

  const SHOWN_OTHERS = 5;
  const findBox = document.getElementById("find-box");
  const connectCard = document.getElementById("connect-card");
  const heading = document.getElementById("hub-heading");
  const goRun = document.getElementById("go-run");

  const maintenance = page.dataset.kind === "maintenance";
  const windowHelp = document.getElementById("window-help");
  const windowOpen = document.getElementById("window-open");
  let countdown = null;

  function windowText(b) {
    if (b.interpan_open === false) {
      if (!b.expected) return "Not accepting a terminal now";
      return maintenance ? "Not accepting a terminal now: open its window from the meter's installer menu (the steps are above)"
        : "Not accepting a terminal now: switch the hub off and on again, then scan again";
    }
    return b.interpan_open ? "Ready to pair with this terminal" : "";
  }

  /* The window of this job's hub: the meter-menu steps while it is closed, a countdown
     once the terminal has seen it open (it knows when, and for how long it opens). */
  function showWindow(expected) {
    clearInterval(countdown);
    windowOpen.classList.add("hidden");
    const closed = expected && expected.interpan_open === false;
    if (windowHelp) windowHelp.classList.toggle("hidden", !closed);
    const left = expected && expected.window && expected.window.seconds_left;
    if (!left) return;
    const until = Date.now() + left * 1000;
    const tick = () => {
      const s = Math.max(0, Math.round((until - Date.now()) / 1000));
      windowOpen.textContent = s > 0
        ? `The hub's pairing window is open: ${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s left to connect.`
        : "The hub's pairing window may have closed: scan again.";
      if (!s) clearInterval(countdown);
    };
    windowOpen.classList.remove("hidden");
    tick();
    countdown = setInterval(tick, 1000);
  }

  function render(beacons, showAll) {
    list.replaceChildren();
    if (!beacons.length) {
      list.append(HHT.el("li", { class: "card", text: "No networks heard. Move closer to the hub and scan again." }));
      return;
    }
    if (!beacons.some((b) => b.expected)) {
      list.append(HHT.el("li", { class: "error", text: maintenance
        ? "This job's hub was not heard. Check its label and move closer, then scan again."
        : "This job's hub was not heard. Check its label, move closer, or switch the hub off and on again, then scan again." }));
    }
    const others = beacons.filter((b) => !b.expected).length;
    let othersShown = 0;
    for (const b of beacons) {
      if (!b.expected && !showAll && othersShown++ >= SHOWN_OTHERS) {
        const more = HHT.el("button", { class: "secondary wide", id: "show-all", text: `Show all ${others} other networks` });
        more.addEventListener("click", () => render(beacons, true));
        list.append(HHT.el("li", {}, more));
        break;
      }
      const flag = FLAGS[b.flag] || b.flag;
      const canConnect = b.expected && b.supported && b.interpan_open !== false;
      const btn = HHT.el("button", { text: "Connect", class: b.expected ? "" : "secondary", disabled: !canConnect });
      btn.addEventListener("click", () => connect(b.extended_pan_id));
      let cycle = null;
      if (b.expected && b.interpan_open === false && page.dataset.simulated === "yes") {
        cycle = HHT.el("button", { class: "secondary", text: "Switch the hub off and on (simulator)", id: "power-cycle" });
        cycle.addEventListener("click", async () => {
          try { await HHT.api(`/api/jobs/${jobId}/sim/power-cycle`, {}); await scan(); }
          catch (e) { HHT.showError(errorBox, e.message); }
        });
        if (maintenance) {  /* the last resort, under its consequence, not in the list */
          document.getElementById("power-cycle")?.remove();
          document.getElementById("last-resort").append(cycle);
          cycle = null;
        }
      }
      const pan = b.pan_id.toString(16).toUpperCase().padStart(4, "0");
      list.append(HHT.el("li", { class: "card beacon " + b.flag, "data-hub": b.extended_pan_id },
        HHT.el("div", {},
          HHT.el("div", {}, HHT.euiNode(b.extended_pan_id)),
          HHT.el("span", { class: "badge s-" + b.flag, text: flag }),
          HHT.el("div", { class: "muted", text: windowText(b) }),
          HHT.el("div", { class: "muted detail", text: `${b.band} · channel ${b.channel} · network ${pan} · LQI ${b.lqi}, ${b.rssi} dBm` }),
          b.supported ? null : HHT.el("div", { class: "error", text: `This terminal's radio cannot use ${b.band}.` }),
          cycle),
        HHT.el("div", {}, HHT.el("div", { class: "signal", text: bars(b.lqi) }), btn)));
    }
  }

  async function scan() {
    HHT.showError(errorBox, "");
    scanBtn.disabled = true;
    document.getElementById("scanning").classList.remove("hidden");
    try {
      const data = await HHT.api(`/api/jobs/${jobId}/scan`, {});
      render(data.beacons);
      showWindow(data.beacons.find((b) => b.expected));
    } catch (e) {
      HHT.showError(errorBox, e.message);
    } finally {
      scanBtn.disabled = false;
      document.getElementById("scanning").classList.add("hidden");
    }
  }

  function showStage(stage) {
    const at = stages.indexOf(stage);
    document.querySelectorAll("#stages li").forEach((li, i) => {
      li.className = i < at || stage === "ready" ? "done" : i === at ? "active" : "todo";
    });
  }

  /* The connect card takes the scan list's place, at the top, where the installer looks. */
  function showConnecting(hubId) {
    findBox.classList.add("hidden");
    connectCard.classList.remove("hidden");
    document.getElementById("connect-hub").replaceChildren(HHT.euiNode(hubId));
    heading.textContent = "Connecting to the hub";
    document.getElementById("scan-again").classList.add("hidden");
    scanBtn.classList.add("hidden");
    goRun.classList.add("hidden");
    window.scrollTo(0, 0);
  }

  function showConnected(hubId) {
    showConnecting(hubId);
    showStage("ready");
    heading.textContent = "Connected to the hub";
    document.getElementById("scan-again").classList.remove("hidden");
    goRun.classList.remove("hidden");
    goRun.setAttribute("data-main-action", "");
    goRun.focus({ preventScroll: true });
  }

  function showFinding(message) {
    connectCard.classList.add("hidden");
    findBox.classList.remove("hidden");
    heading.textContent = "Find the hub";
    scanBtn.classList.remove("hidden");
    goRun.classList.add("hidden");
    HHT.showError(errorBox, message || "");
  }

  async function connect(hubId) {
    HHT.showError(errorBox, "");
    showConnecting(hubId);
    showStage(stages[0]);
    try {
      await HHT.api(`/api/jobs/${jobId}/connect`, { hub_id: hubId });
      showConnected(hubId);
    } catch (e) {
      document.querySelectorAll("#stages li.active").forEach((li) => (li.className = "todo"));
      showFinding(e.message);
    }
  }

  document.getElementById("scan-again").addEventListener("click", () => { showFinding(""); scan(); });
  if (page.dataset.connectedHub) showConnected(page.dataset.connectedHub);

  /* ----- the hub label: camera (secure origins), photo, or typed ----- */
  const labelResult = document.getElementById("label-result");

  function showLabel(data) {
    labelResult.className = data.matches_job ? "flash" : "error";
    labelResult.textContent = data.message;
    document.querySelectorAll("li.beacon").forEach((li) => li.classList.remove("picked"));
    const li = document.querySelector(`li.beacon[data-hub="${data.hub_id}"]`);
    if (li) { li.classList.add("picked"); li.scrollIntoView({ block: "center" }); }
  }

  async function sendLabel(body) {
    try {
      let data;
      if (body instanceof FormData) {
        const res = await fetch(`/api/jobs/${jobId}/hub-label`, {
          method: "POST", body, credentials: "same-origin",
          headers: { "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
        });
        data = await res.json();
        if (!res.ok) throw new Error(data.error || "The photo could not be read.");
      } else {
        data = await HHT.api(`/api/jobs/${jobId}/hub-label`, body);
      }
      showLabel(data);
    } catch (e) {
      labelResult.className = "error";
      labelResult.textContent = e.message;
    }
  }

  document.getElementById("label-photo").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("photo", file);
    labelResult.className = "muted";
    labelResult.textContent = "Reading the photo…";
    sendLabel(form);
  });
  document.getElementById("label-use").addEventListener("click", () =>
    sendLabel({ text: document.getElementById("label-text").value }));

  if (window.isSecureContext && "BarcodeDetector" in window && navigator.mediaDevices) {
    document.getElementById("camera-box").classList.remove("hidden");
    document.getElementById("camera-start").addEventListener("click", async () => {
      const video = document.getElementById("camera");
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.classList.remove("hidden");
        await video.play();
        const detector = new BarcodeDetector();
        const tick = async () => {
          const codes = await detector.detect(video).catch(() => []);
          if (codes.length) {
            stream.getTracks().forEach((t) => t.stop());
            video.classList.add("hidden");
            sendLabel({ text: codes[0].rawValue });
          } else if (video.srcObject) {
            requestAnimationFrame(tick);
          }
        };
        tick();
      } catch (e) {
        labelResult.className = "error";
        labelResult.textContent = "The camera could not start: photograph the label instead.";
      }
    });
  }

  HHT.followJob(jobId, (msg) => {
    if (msg.type === "live" && msg.live.stage && msg.live.phase === "connecting") showStage(msg.live.stage);
  });
  scanBtn.addEventListener("click", scan);
  const menuBtn = document.getElementById("meter-menu");
  if (menuBtn) {
    menuBtn.addEventListener("click", async () => {
      const display = document.getElementById("meter-display");
      try {
        const data = await HHT.api(`/api/jobs/${jobId}/sim/meter-menu`, { meter: "esme" });
        display.textContent = `The electricity meter's display: ${data.display}`;
        display.classList.remove("hidden");
        if (data.outcome === "window-open") await scan();
      } catch (e) { HHT.showError(errorBox, e.message); }
    });
  }
})();
