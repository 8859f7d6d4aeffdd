// Service worker for the courier's pages: a tour page loaded once opens again without network
// (network first, the last copy as fallback); scripts and styles come from the cache.
// Actions are not handled here: courier.js queues them in localStorage and sends them later.
"use strict";
var CACHE = "mailroom-courier-v1";

self.addEventListener("install", function (event) {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function networkFirst(request) {
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (cached) {
      return cached || new Response("Keine Verbindung und keine gespeicherte Fassung dieser Seite.",
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;  // actions go to the network (queued by courier.js)
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0 || request.mode === "navigate" || url.pathname.indexOf("/courier/") === 0) {
    event.respondWith(networkFirst(request));
  }
});
