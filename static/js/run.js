/* Run a job: live progress from the server (the truth), one main action, abort, the end. */
"use strict";
(() => {
  const page = document.getElementById("run-page");
  const jobId = page.dataset.jobId;
  const simulated = page.dataset.simulated === "yes";
  const $ = (id) => document.getElementById(id);
  const errorBox = $("run-error");
  const FINISHED = ["completed", "failed", "aborted"];
  const SETTLED = ["answered", "failed", "rejected", "skipped"];
  let state = null; // the last snapshot, updated by deltas
  let wakeLock = null;
  let wakePressed = null; // the command whose gas-meter prompt the installer answered

  function commandRow(c) {
    const tries = c.attempts > 1 ? ` (try ${c.attempts})` : "";
    return HHT.el("a", { class: "cmd", href: `/messages/command/${c.id}`, "data-command": c.id, "data-state": c.state },
      HHT.el("span", {},
        HHT.el("span", { text: `To the ${c.device_name.toLowerCase()}` }),
        HHT.el("span", { class: "muted detail", text: ` · ${c.use_case} · counter ${c.counter}` })),
      HHT.el("span", { class: "badge s-" + c.state, text: c.state_label + tries }));
  }

  function renderCommands() {
    const box = $("srs");
    box.replaceChildren();
    for (const sr of state.service_requests) {
      box.append(HHT.el("section", { class: "card sr", "data-sr": sr.id },
        HHT.el("h3", {}, HHT.el("span", { text: sr.title }), HHT.el("span", { class: "badge s-" + sr.state, text: sr.state_label })),
        HHT.el("div", { class: "muted detail", text: `${sr.service_reference_variant || sr.service_reference} · ${sr.use_case}` }),
        ...sr.commands.map(commandRow)));
    }
    const all = state.service_requests.flatMap((s) => s.commands);
    const done = all.filter((c) => SETTLED.includes(c.state)).length;
    $("bar").style.width = all.length ? `${(100 * done) / all.length}%` : "0";
    $("progress-text").textContent = `${done} of ${all.length} commands finished.`;
  }

  function addLog(ev) {
    const log = $("log");
    if (log.querySelector(`[data-event="${ev.id}"]`)) return;
    log.append(HHT.el("div", { "data-event": ev.id }, `${HHT.localTime(ev.at)}  `,
      ...HHT.withCodesAsDetail(ev.message)));
    log.scrollTop = log.scrollHeight;
  }

  function fmtLeft(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  }

  /* What the installer reads in the "now" box, and the one action that goes with it. */
  function nowText(job, live, connected) {
    if (FINISHED.includes(job.status)) return job.status_message || job.status_label;
    if (live.waiting_for) {
      if (live.action === "wake-gsme" && wakePressed === live.deadline_ms) return "Gas meter button pressed: waiting for the gas meter to answer…";
      let text = live.waiting_for;
      if (live.deadline_ms) text += ` (gives up in ${fmtLeft(live.deadline_ms - Date.now())})`;
      return text;
    }
    if (job.status === "running") return "Sending commands…";
    if (live.instruction) return live.instruction;
    if (job.status === "paused") return (job.status_message || "Paused.") + (connected ? " Press Resume to go on." : "");
    return connected ? "Connected to the hub. Press Start." : "Not connected to the hub: reconnect to start.";
  }

  function mainAction(job, live, connected) {
    const finished = FINISHED.includes(job.status);
    if (finished) return job.closed_out ? "go-summary" : "go-finish";
    if (job.status === "running") {
      if (live.action === "wake-gsme" && simulated && wakePressed !== live.deadline_ms) return "wake";
      return "pause";
    }
    return connected ? "start" : "reconnect";
  }

  function renderLive() {
    const job = state.job;
    const live = state.live || {};
    $("job-status").textContent = job.status_label;
    $("job-status").className = "badge s-" + job.status;
    const finished = FINISHED.includes(job.status);
    const running = job.status === "running";
    const connected = ["connected", "running", "waiting"].includes(live.phase);
    const action = mainAction(job, live, connected);
    for (const id of ["start", "wake", "pause", "reconnect", "go-finish", "go-summary"]) $(id).classList.toggle("hidden", id !== action);
    // while the gas meter is awaited, Pause stays within reach beside its button
    if (action === "wake") $("pause").classList.remove("hidden");
    $("start").textContent = job.status === "paused" ? "Resume" : "Start";
    $("abort-box").classList.toggle("hidden", finished);
    const now = $("now");
    now.textContent = nowText(job, live, connected);
    now.classList.toggle("idle", !running && !live.instruction);
    let eta = "";
    if (running && live.action === "wake-gsme") eta = "Time left depends on when the gas meter wakes.";
    else if (running && live.eta_ms && live.eta_ms - Date.now() >= 1000) eta = `About ${fmtLeft(live.eta_ms - Date.now())} left.`;
    $("eta").textContent = eta;
    if (finished) showSummary();
    keepAwake(running);
  }

  function showSummary() {
    const job = state.job;
    const all = state.service_requests.flatMap((s) => s.commands);
    const count = (s) => all.filter((c) => c.state === s).length;
    const box = $("summary");
    box.classList.remove("hidden");
    box.classList.toggle("bad", job.status !== "completed");
    $("summary-title").textContent = job.status_label;
    const parts = [`${count("answered")} done`];
    if (count("rejected")) parts.push(`${count("rejected")} already done before`);
    if (count("failed")) parts.push(`${count("failed")} refused by the device`);
    if (count("skipped")) parts.push(`${count("skipped")} not sent`);
    $("summary-text").textContent = `${parts.join(", ")}, of ${all.length} commands.` +
      (job.abort_reason_label ? ` Abort reason: ${job.abort_reason_label}.` : "");
    const closeout = $("closeout-text");
    closeout.classList.remove("hidden");
    closeout.textContent = job.closed_out ? job.closeout_summary
      : "Last step: record how the hub is installed, or that it was not.";
  }

  async function keepAwake(on) {
    if (!("wakeLock" in navigator) || !window.isSecureContext) return;
    try {
      if (on && !wakeLock) wakeLock = await navigator.wakeLock.request("screen");
      if (!on && wakeLock) { await wakeLock.release(); wakeLock = null; }
    } catch (e) { wakeLock = null; }
  }

  /* A snapshot fetched while deltas keep coming could be older than some of them: the deltas
     met meanwhile are replayed on top of it, in the order they came. */
  let metWhileFetching = null;
  let fetchAgain = false;

  function onMessage(msg, replaying) {
    if (msg.type === "snapshot") {
      state = msg.snapshot;
      $("log").replaceChildren();
      state.events.forEach(addLog);
      renderCommands();
      renderLive();
      return;
    }
    if (!state) return;
    if (metWhileFetching && !replaying) metWhileFetching.push(msg);
    if (msg.type === "command") {
      for (const sr of state.service_requests) {
        const i = sr.commands.findIndex((c) => c.id === msg.command.id);
        if (i >= 0) sr.commands[i] = msg.command;
        // the step's state comes with the command's, in the server's words
        if (msg.service_request && msg.service_request.id === sr.id) {
          sr.state = msg.service_request.state;
          sr.state_label = msg.service_request.state_label;
        }
      }
      renderCommands();
    } else if (msg.type === "live") {
      state.live = msg.live;
      renderLive();
    } else if (msg.type === "event") {
      addLog(msg.event);
      if (!replaying && ["status", "hub-install"].includes(msg.event.kind)) refresh();
    }
  }

  function refresh() {
    if (metWhileFetching) { fetchAgain = true; return Promise.resolve(); }
    metWhileFetching = [];
    return HHT.api(`/api/jobs/${jobId}`).then((snapshot) => {
      const met = metWhileFetching;
      metWhileFetching = null;
      onMessage({ type: "snapshot", snapshot });
      met.forEach((m) => onMessage(m, true));
    }, () => { metWhileFetching = null; }).finally(() => {
      if (fetchAgain) { fetchAgain = false; refresh(); }
    });
  }

  async function act(path, body) {
    HHT.showError(errorBox, "");
    try { await HHT.api(`/api/jobs/${jobId}/${path}`, body || {}); return true; }
    catch (e) { HHT.showError(errorBox, e.message); return false; }
  }

  $("start").addEventListener("click", () => act("start"));
  $("pause").addEventListener("click", () => act("pause"));
  $("wake").addEventListener("click", async () => {
    const pressedFor = state && state.live ? state.live.deadline_ms : null;
    if (await act("sim/wake-gsme")) { wakePressed = pressedFor; renderLive(); }
  });
  /* Abort: a reason first, then a second, explicit yes. */
  const reason = $("abort-reason");
  $("abort-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const label = reason.options[reason.selectedIndex].text;
    $("abort-question").textContent = `Abort this job because "${label}"? Nothing more will be sent to the meters and the job cannot be started again.`;
    $("abort-confirm").classList.remove("hidden");
    $("abort-ask").classList.add("hidden");
    $("abort-yes").focus();
  });
  function closeConfirm() { $("abort-confirm").classList.add("hidden"); $("abort-ask").classList.remove("hidden"); }
  $("abort-no").addEventListener("click", closeConfirm);
  reason.addEventListener("change", closeConfirm);
  $("abort-yes").addEventListener("click", async () => {
    $("abort-yes").disabled = true;
    if (await act("abort", { reason: reason.value, note: $("abort-note").value })) await refresh();
    $("abort-yes").disabled = false;
    closeConfirm();
  });
  setInterval(() => state && state.live && state.live.deadline_ms && renderLive(), 1000);
  HHT.followJob(jobId, (msg) => onMessage(msg), (up) => { if (!up) HHT.showError(errorBox, "Lost contact with the terminal; reconnecting…"); else HHT.showError(errorBox, ""); });
})();
