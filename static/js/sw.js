/* HHT service worker: keeps the app shell on the phone and shows an offline page when the
   terminal is out of reach. Job data (pages, /api/, /socket.io/) always comes from the
   network: the terminal is the truth, a stale copy is never shown. */
"use strict";
const CACHE = "hht-shell-__VERSION__";
const SHELL = __SHELL__;
const OFFLINE = "/static/offline.html";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    // the shell, by its versioned URL (?v= changes with the file): the cached copy of that
    // very version, else the network; out of reach, whichever version is cached (the
    // offline page links its stylesheet without a version)
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request).catch(() =>
      caches.match(request, { ignoreSearch: true }).then((any) => any || Response.error()))));
    return;
  }
  if (request.mode === "navigate") {
    // pages carry job data: network only, the offline page when the terminal is unreachable
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE, { ignoreSearch: true })));
  }
  // everything else (/api/, /socket.io/) is left to the network
});
