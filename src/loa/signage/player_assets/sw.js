// Loa board player — service worker (scope /board/).
//
// * the player's shell (page, scripts, style): network first, the cached copy when the server is down;
// * the board's manifest (/board/api/manifest): network first, the last answer kept for when the server is down
//   (the page verifies its signature and expiry every time, whatever the source);
// * media: downloaded when the page announces a manifest (message "prefetch"), with the board's credentials,
//   checked against its sha256 with WebCrypto, cached under /board/media/<sha256>, served from the cache only.
//   Files the current manifest no longer names are dropped once everything it names is cached.
// The push stream, proof upload and the fleet API pass through untouched.

const SHELL_CACHE = "loa-board-shell-v1";
const MEDIA_CACHE = "loa-board-media-v1";
const MANIFEST_CACHE = "loa-board-manifest-v1";
const SHELL = ["/board/", "/board/player.js", "/board/canonical.js", "/board/player.css", "/board/font.ttf"];
const MEDIA_PREFIX = "/board/media/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

async function networkFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request.url.split("?")[0], response.clone());
    }
    return response;
  } catch (err) {
    const cached = await cache.match(request.url.split("?")[0], { ignoreVary: true });
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  if (url.pathname.startsWith(MEDIA_PREFIX)) {
    event.respondWith(
      caches
        .open(MEDIA_CACHE)
        .then((cache) => cache.match(url.pathname, { ignoreVary: true }))
        .then((hit) => hit || new Response("", { status: 404 }))
    );
  } else if (url.pathname === "/board/api/manifest") {
    event.respondWith(networkFirst(event.request, MANIFEST_CACHE));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(event.request, SHELL_CACHE));
  }
});

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Download one file with the board's credentials and keep it only when its bytes match the sha256.
async function fetchVerified(cache, item, auth) {
  const key = MEDIA_PREFIX + item.sha256;
  if (await cache.match(key)) return "cached";
  const response = await fetch(item.url, { headers: { Authorization: auth }, cache: "no-store" });
  if (!response.ok) return "download_failed";
  const body = await response.arrayBuffer();
  if ((await sha256Hex(body)) !== item.sha256) return "sha256_mismatch";
  await cache.put(
    key,
    new Response(body, {
      headers: { "Content-Type": item.mime, "Content-Length": String(body.byteLength) },
    })
  );
  return "downloaded";
}

let running = Promise.resolve();

async function prefetch(media, auth) {
  const cache = await caches.open(MEDIA_CACHE);
  const results = {};
  for (const item of media) {
    try {
      results[item.sha256] = await fetchVerified(cache, item, auth);
    } catch (err) {
      results[item.sha256] = "download_failed";
    }
  }
  const wanted = new Set(media.map((m) => MEDIA_PREFIX + m.sha256));
  const complete = Object.values(results).every((r) => r === "cached" || r === "downloaded");
  if (complete) {
    for (const request of await cache.keys()) {
      if (!wanted.has(new URL(request.url).pathname)) await cache.delete(request);
    }
  }
  return results;
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "prefetch") {
    running = running.then(() =>
      prefetch(data.media || [], data.auth).then((results) => {
        if (event.source) event.source.postMessage({ type: "prefetched", results });
      })
    );
    event.waitUntil(running);
  }
});
