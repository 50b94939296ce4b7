/* Loa public app service worker: the app shell is kept at install; every page and feed answer that loads is
   kept too (network first), so what was last loaded stays readable offline. Audio and images are not kept
   (data-hungry on a cheap plan); the API and pages are never served stale while the network answers. */
'use strict';
var VERSION = 'loa-congdan-v2';
var SHELL = __SHELL__;
var PUSH = __PUSH__;  // the alerts part's push handler (static/alerts/push-sw.js), when installed
if (PUSH) importScripts(PUSH);

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(VERSION).then(function (c) { return c.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

/* Only the app shell's older versions go: other caches of the origin are not this worker's (the feedback tracking
   page keeps its links in "loa-feedback-links"; deleting it made a notification click lose its page). */
self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf('loa-congdan-') === 0 && k !== VERSION; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepable(url, request) {
  if (request.method !== 'GET' || url.origin !== self.location.origin) return false;
  if (/\.(mp3)$/.test(url.pathname) || /\/anh\/\d+\/$/.test(url.pathname)) return false;
  return url.pathname.indexOf('/congdan/') === 0 || url.pathname.indexOf('/api/v1/public/') === 0 ||
    url.pathname.indexOf('/static/') === 0;
}

self.addEventListener('fetch', function (event) {
  var request = event.request, url = new URL(request.url);
  if (!keepable(url, request)) return;
  if (url.pathname.indexOf('/static/') === 0) {  // hashed names in production: the cached copy is the right one
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (r) {
        if (r.ok) { var copy = r.clone(); caches.open(VERSION).then(function (c) { c.put(request, copy); }); }
        return r;
      });
    }));
    return;
  }
  event.respondWith(fetch(request).then(function (r) {
    if (r.ok) { var copy = r.clone(); caches.open(VERSION).then(function (c) { c.put(request, copy); }); }
    return r;
  }).catch(function () {
    return caches.match(request, { ignoreVary: true }).then(function (hit) {
      return hit || caches.match('/congdan/', { ignoreVary: true });
    });
  }));
});
