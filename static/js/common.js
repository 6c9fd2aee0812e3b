/* Shared helpers: CSRF-protected JSON calls, element building, the job socket. */
"use strict";
const HHT = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function api(path, body) {
    const res = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { error: "The terminal sent an unreadable answer." }; }
    if (!res.ok) {
      const err = new Error(data.error || ("Request failed (" + res.status + ")"));
      err.data = data;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function showError(box, message) {
    box.textContent = message;
    box.classList.toggle("hidden", !message);
  }

  function eui(hex) { return (hex || "").toUpperCase().match(/.{1,2}/g)?.join("-") || ""; }

  /* A stored UTC time as the phone's local clock time, to the second. */
  function localTime(iso) {
    const when = new Date(iso || "");
    return isNaN(when) ? "" : when.toLocaleTimeString("en-GB", { hour12: false });
  }

  /* A log line's text with each GBCS use-case code in it, " (ECS70)", as an engineer's
     detail: hidden until "Show codes and ids" is on. */
  const USE_CASE_IN_TEXT = / \(([A-Z]{2,4}\d{2}[A-Za-z0-9]{0,3})\)/g;
  function withCodesAsDetail(text) {
    const parts = [];
    let from = 0;
    for (const found of text.matchAll(USE_CASE_IN_TEXT)) {
      parts.push(text.slice(from, found.index), el("span", { class: "detail", text: found[0] }));
      from = found.index + found[0].length;
    }
    parts.push(text.slice(from));
    return parts;
  }

  /* A device id as on its label, breaking only between byte pairs (as the pages' filter). */
  function euiNode(hex) {
    const span = el("span", { class: "eui" });
    eui(hex).split("-").forEach((pair, i) => {
      if (i) span.append("-", document.createElement("wbr"));
      span.append(pair);
    });
    return span;
  }

  /* "Show codes and ids": engineers' details (codes, counters, network ids) stay out of the
     way until asked for; the choice holds from page to page. */
  const DETAILS_KEY = "hht-show-details";
  function showDetails(on) {
    document.body.classList.toggle("details-on", on);
    document.querySelectorAll("[data-details-toggle]").forEach((b) => {
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.textContent = on ? "Hide codes and ids" : "Show codes and ids";
    });
  }
  document.querySelectorAll("[data-details-toggle]").forEach((b) => b.addEventListener("click", () => {
    const on = !document.body.classList.contains("details-on");
    try { localStorage.setItem(DETAILS_KEY, on ? "1" : ""); } catch (e) { /* private mode */ }
    showDetails(on);
  }));
  try { showDetails(localStorage.getItem(DETAILS_KEY) === "1"); } catch (e) { showDetails(false); }

  /* Follow one job: the server sends a full snapshot on every (re)connect, then deltas. */
  function followJob(jobId, onMessage, onStatus) {
    const socket = io({ transports: ["websocket", "polling"] });
    socket.on("connect", () => { onStatus && onStatus(true); socket.emit("join", { job_id: jobId }); });
    socket.on("disconnect", () => onStatus && onStatus(false));
    socket.on("job", onMessage);
    // the phone's clock helps the terminal know the time (no battery clock on a Pi)
    socket.on("clock_ping", (m) => socket.emit("clock_pong", { id: m.id, phone_ms: Date.now() }));
    // the terminal's time once this phone's clock has been counted (no second fetch)
    socket.on("clock", (c) => timeQuality && renderTimeQuality(c));
    socket.on("error", (e) => console.warn("socket error", e));
    return socket;
  }

  if (window.isSecureContext && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("no offline app", e));
  }
  const timeQuality = document.getElementById("time-quality");
  function renderTimeQuality(c) {
    timeQuality.textContent = (c.uncertainty_s === null ? "time ?" : `time ±${c.uncertainty_s < 1 ? "<1" : Math.round(c.uncertainty_s)} s`)
      + (c.warning ? " · phone clock disagrees" : "");
    timeQuality.title = c.label;
    timeQuality.className = "time-quality " + (c.uncertainty_s === null || c.uncertainty_s > 10 || c.warning ? "bad" : "ok");
  }
  async function showTimeQuality() {
    try { renderTimeQuality(await api("/api/clock")); }
    catch (e) { /* logged out or offline: nothing to show */ }
  }
  // once per page load, then every 30 s
  if (timeQuality) { showTimeQuality(); setInterval(showTimeQuality, 30000); }
  const insecure = document.getElementById("insecure-note");
  if (insecure && !window.isSecureContext) {
    insecure.classList.remove("hidden");
    document.getElementById("notices").classList.remove("hidden");
  }

  return { api, el, showError, eui, euiNode, localTime, followJob, withCodesAsDetail };
})();
