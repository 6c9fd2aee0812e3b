/* Run a job: live progress from the server (the truth), controls, abort, summary. */
"use strict";
(() => {
  const page = document.getElementById("run-page");
  const jobId = page.dataset.jobId;
  const simulated = page.dataset.simulated === "yes";
  const $ = (id) => document.getElementById(id);
  const errorBox = $("run-error");
  let state = null; // the last snapshot, updated by deltas
  let wakeLock = null;

  function commandRow(c) {
    return HHT.el("div", { class: "cmd", "data-command": c.id, "data-state": c.state },
      HHT.el("span", {}, `${c.seq}. `, HHT.el("a", { href: `/messages/command/${c.id}`, text: c.use_case, class: "msg-link" }), " ",
        HHT.el("span", { class: "muted", text: `→ ${c.device_role.toUpperCase()} · #${c.counter}` })),
      HHT.el("span", { class: "badge s-" + c.state, text: c.state_label + (c.attempts > 1 ? ` (try ${c.attempts})` : "") }));
  }

  function renderCommands() {
    const box = $("srs");
    box.replaceChildren();
    for (const sr of state.service_requests) {
      const states = sr.commands.map((c) => c.state);
      const srState = states.every((s) => s === "answered" || s === "rejected") ? "completed"
        : states.some((s) => s === "failed" || s === "skipped") ? "failed"
        : states.some((s) => s !== "queued") ? "running" : "ready";
      const labels = { completed: "Done", failed: "Failed", running: "In progress", ready: "Waiting" };
      box.append(HHT.el("section", { class: "card sr", "data-sr": sr.id },
        HHT.el("h3", {}, HHT.el("span", { text: `${sr.title}` }), HHT.el("span", { class: "badge s-" + srState, text: labels[srState] })),
        HHT.el("div", { class: "muted", text: `${sr.service_reference} · ${sr.use_case}` }),
        ...sr.commands.map(commandRow)));
    }
    const all = state.service_requests.flatMap((s) => s.commands);
    const done = all.filter((c) => ["answered", "failed", "rejected", "skipped"].includes(c.state)).length;
    $("bar").style.width = all.length ? `${(100 * done) / all.length}%` : "0";
    $("progress-text").textContent = `${done} of ${all.length} commands settled.`;
  }

  function addLog(ev) {
    const log = $("log");
    if (log.querySelector(`[data-event="${ev.id}"]`)) return;
    const time = (ev.at || "").slice(11, 19);
    log.append(HHT.el("div", { "data-event": ev.id, text: `${time}  ${ev.message}` }));
    log.scrollTop = log.scrollHeight;
  }

  function fmtLeft(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  }

  function renderLive() {
    const job = state.job;
    const live = state.live || {};
    $("job-status").textContent = job.status_label;
    $("job-status").className = "badge s-" + job.status;
    const finished = ["completed", "failed", "aborted"].includes(job.status);
    const running = job.status === "running";
    const connected = live.phase === "connected" || live.phase === "running" || live.phase === "waiting";
    $("start").classList.toggle("hidden", running || finished || !connected);
    $("start").textContent = job.status === "paused" ? "Resume" : "Start";
    $("pause").classList.toggle("hidden", !running);
    $("reconnect").classList.toggle("hidden", running || finished || connected);
    $("wake").classList.toggle("hidden", !(running && live.action === "wake-gsme" && simulated));
    $("abort-box").classList.toggle("hidden", finished);
    const now = $("now");
    let text;
    if (finished) text = job.status_message || job.status_label;
    else if (live.waiting_for) {
      text = live.waiting_for;
      if (live.deadline_ms) text += ` (gives up in ${fmtLeft(live.deadline_ms - Date.now())})`;
    } else if (running) text = "Sending commands…";
    else if (live.instruction) text = live.instruction;
    else if (job.status === "paused") text = job.status_message || "Paused.";
    else text = connected ? "Connected to the hub. Press Start." : "Not connected to the hub.";
    now.textContent = text;
    now.classList.toggle("idle", !running && !live.instruction);
    const etaKnown = running && live.eta_ms && live.eta_ms > Date.now() && !live.action;
    $("eta").textContent = etaKnown ? `About ${fmtLeft(live.eta_ms - Date.now())} left.` : "";
    if (finished) showSummary();
    keepAwake(running);
  }

  function showSummary() {
    const all = state.service_requests.flatMap((s) => s.commands);
    const count = (s) => all.filter((c) => c.state === s).length;
    const box = $("summary");
    box.classList.remove("hidden");
    box.classList.toggle("bad", state.job.status !== "completed");
    $("summary-title").textContent = state.job.status_label;
    $("summary-text").textContent = `${count("answered")} answered, ${count("rejected")} already done, ` +
      `${count("failed")} refused, ${count("skipped")} not sent, of ${all.length} commands.` +
      (state.job.abort_reason ? ` Abort reason: ${state.job.abort_reason}.` : "");
  }

  async function keepAwake(on) {
    if (!("wakeLock" in navigator) || !window.isSecureContext) return;
    try {
      if (on && !wakeLock) wakeLock = await navigator.wakeLock.request("screen");
      if (!on && wakeLock) { await wakeLock.release(); wakeLock = null; }
    } catch (e) { wakeLock = null; }
  }

  function onMessage(msg) {
    if (msg.type === "snapshot") {
      state = msg.snapshot;
      $("log").replaceChildren();
      state.events.forEach(addLog);
      renderCommands();
      renderLive();
      return;
    }
    if (!state) return;
    if (msg.type === "command") {
      for (const sr of state.service_requests) {
        const i = sr.commands.findIndex((c) => c.id === msg.command.id);
        if (i >= 0) sr.commands[i] = msg.command;
      }
      renderCommands();
    } else if (msg.type === "live") {
      state.live = msg.live;
      renderLive();
    } else if (msg.type === "event") {
      addLog(msg.event);
      if (msg.event.kind === "status") HHT.api(`/api/jobs/${jobId}`).then((s) => onMessage({ type: "snapshot", snapshot: s }));
    }
  }

  async function act(path, body) {
    HHT.showError(errorBox, "");
    try { await HHT.api(`/api/jobs/${jobId}/${path}`, body || {}); }
    catch (e) { HHT.showError(errorBox, e.message); }
  }

  $("start").addEventListener("click", () => act("start"));
  $("pause").addEventListener("click", () => act("pause"));
  $("wake").addEventListener("click", () => act("sim/wake-gsme"));
  $("abort-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act("abort", { reason: $("abort-reason").value, note: $("abort-note").value });
  });
  setInterval(() => state && state.live && state.live.deadline_ms && renderLive(), 1000);
  HHT.followJob(jobId, onMessage, (up) => { if (!up) HHT.showError(errorBox, "Lost contact with the terminal; reconnecting…"); else HHT.showError(errorBox, ""); });
})();
