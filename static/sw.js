// The portal's service worker (served at /sw.js, scope "/"): it shows pushed notifications,
// opens their page when one is clicked, and shows the offline page when a page cannot be
// fetched. It keeps nothing else: every other request goes to the server as without it.
"use strict";

var CACHE = "portal-offline-v1";
var OFFLINE_URL = "/offline";
var KEPT = [OFFLINE_URL, "/static/css/portal.css"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(KEPT);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(OFFLINE_URL);
    }));
    return;
  }
  var path = new URL(request.url).pathname;
  if (new URL(request.url).origin === self.location.origin && KEPT.indexOf(path) >= 0) {
    // The network first, so the copy stays current; the copy when there is no network.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreSearch: true });
    }));
  }
});

self.addEventListener("push", function (event) {
  var message = {};
  try { message = event.data ? event.data.json() : {}; } catch (error) { message = {}; }
  var url = typeof message.url === "string" ? message.url : "/inbox";
  event.waitUntil(self.registration.showNotification(message.title || "", {
    body: message.body || "",
    tag: message.tag || undefined,
    icon: "/static/icons/app-192.png",
    badge: "/static/icons/app-192.png",
    data: { url: url }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/inbox",
    self.location.origin);
  // Only the portal's own pages: a link to elsewhere opens the same path here.
  if (target.origin !== self.location.origin) {
    target = new URL(target.pathname + target.search, self.location.origin);
  }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (windows[i].url === target.href && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(target.href);
    }));
});
