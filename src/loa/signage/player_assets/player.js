// Loa reference board player (docs/signage-player.md). Runs in kiosk Chromium on the board's computer.
//
// Identity: enrolled once with a one-time code typed on the screen; the device id, password, units and the
// server's public key are kept in localStorage. Every request carries HTTP Basic with the board's credentials.
// Content: only from a manifest signed by the server (Ed25519, checked here with WebCrypto) that is for this board,
// not expired and not older than the one shown; anything else is refused and the last good manifest stays.
// Push: server-sent events (/board/api/events, read with fetch so the credentials go in a header), with the
// manifest poll every 15 minutes as safety net. Proof of display: every slide shown is queued in IndexedDB with a
// device-side event id and uploaded at least once; the server stores each event once.

import { canonical as canonicalOf, parseKeepingNumbers, sha256Hex, signatureValid } from "./canonical.js";

const FIRMWARE = "loa-board-player 0.1";
const KEYS = { creds: "loa.board.creds", manifest: "loa.board.manifest", serial: "loa.board.serial",
  cancelled: "loa.board.cancelled", commands: "loa.board.commands", brightness: "loa.board.brightness",
  kill: "loa.board.kill" };
const POLL_MS = 15 * 60 * 1000;
const UPLOAD_MS = 5000;
const HEARTBEAT_MS = 60 * 1000;
const SCREENSHOT_MS = 5 * 60 * 1000;
const MEDIA_CACHE = "loa-board-media-v1";
const TICKER_PX_PER_S = 160;

const $ = (sel) => document.querySelector(sel);
const started = Date.now();

// ---- what the tests and the technician can read -----------------------------------------------------------
const board = (window.loaBoard = {
  version: null, online: false, refused: [], shown: [], emergency: null, killed: false, screen: "on",
  queued: 0, uploaded: 0, lastError: "",
});

function note(message) {
  board.lastError = message;
  const el = $("#status");
  if (el) el.textContent = message;
}

// ---- credentials ------------------------------------------------------------------------------------------
function creds() {
  try {
    return JSON.parse(localStorage.getItem(KEYS.creds) || "null");
  } catch (e) {
    return null;
  }
}

function auth() {
  const c = creds();
  const raw = new TextEncoder().encode(`${c.device_id}:${c.password}`);
  return "Basic " + btoa(String.fromCharCode(...raw));
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: auth() }, options.headers || {});
  return fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
}

function serial() {
  let s = localStorage.getItem(KEYS.serial);
  if (!s) {
    s = "BOARD-" + crypto.randomUUID();
    localStorage.setItem(KEYS.serial, s);
  }
  return s;
}

async function enrol(code) {
  const response = await fetch("/api/v1/fleet/enrol", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ v: 1, code: code.trim().toUpperCase(), serial: serial(), vendor: "Loa",
      model: "board-player", firmware: FIRMWARE }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error((body.error && body.error.message) || `Lỗi ${response.status}`);
  }
  const enrolledAt = response.headers.get("Date");
  localStorage.setItem(KEYS.creds, JSON.stringify({
    device_id: body.device_id, password: body.mqtt_password, public_key: body.server_public_key,
    unit_codes: body.unit_codes, enrolled_at: enrolledAt ? new Date(enrolledAt).toISOString() : null,
  }));
}

function showEnrolment() {
  $("#enrol").hidden = false;
  $("#enrol form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("#enrol .error");
    error.textContent = "";
    try {
      await enrol($("#enrol input[name=code]").value);
      $("#enrol").hidden = true;
      start();
    } catch (e) {
      error.textContent = e.message || String(e);
    }
  });
}

// ---- the manifest ------------------------------------------------------------------------------------------
let manifest = null; // parsed
let rawManifest = null; // parsed with numbers as written (for hashes and signatures)
const slideHashes = new Map(); // slide_id → content sha256

function refuse(reason, detail) {
  board.refused.push({ reason, detail: detail || "", at: new Date().toISOString() });
  note(`Từ chối lịch trình chiếu: ${reason}${detail ? " (" + detail + ")" : ""}`);
}

// The checks of docs/protocol.md §9b, in order. Returns the reason a manifest must be refused, or "".
async function checkManifest(text, { allowExpired = false } = {}) {
  const c = creds();
  let parsed, raw;
  try {
    parsed = JSON.parse(text);
    raw = parseKeepingNumbers(text);
  } catch (e) {
    return "malformed_json";
  }
  if (!parsed || parsed.v !== 1 || parsed.kind !== "board") return "invalid";
  if (!parsed.signature) return "unsigned";
  if (!(await signatureValid(raw, c.public_key))) return "bad_signature";
  if (parsed.device_id !== c.device_id) return "wrong_device";
  if (!allowExpired && Date.parse(parsed.valid_until) <= Date.now()) return "expired";
  if (manifest && parsed.version < manifest.version) return "stale_manifest";
  if (parsed.emergency && !(await signatureValid(raw.emergency, c.public_key))) return "bad_signature";
  return "";
}

async function acceptManifest(text, { stored = false } = {}) {
  const reason = await checkManifest(text, { allowExpired: stored });
  if (reason) {
    if (!stored) refuse(reason);
    return false;
  }
  const changed = !manifest || text !== localStorage.getItem(KEYS.manifest);
  manifest = JSON.parse(text);
  rawManifest = parseKeepingNumbers(text);
  board.version = manifest.version;
  localStorage.setItem(KEYS.manifest, text);
  slideHashes.clear();
  manifest.timeline.forEach((entry, i) => {
    entry.slides.forEach((slide, j) => {
      if (slide.media) slideHashes.set(slide.slide_id, slide.media.sha256);
    });
  });
  for (const [i, entry] of rawManifest.timeline.entries()) {
    for (const [j, slide] of entry.slides.entries()) {
      const id = manifest.timeline[i].slides[j].slide_id;
      if (!slideHashes.has(id)) slideHashes.set(id, await sha256Hex(canonicalOf(slide)));
    }
  }
  board.killed = killedNow();
  prefetch();
  if (manifest.emergency) {
    await takeEmergency(manifest.emergency, rawManifest.emergency, "manifest");
  } else if (currentEmergency && Date.parse(manifest.issued_at) > Date.parse(currentEmergency.issued_at)) {
    endEmergency();
  }
  if (changed) scheduleSoon();
  render();
  return true;
}


let manifestBackoff = 1000;
let manifestTimer = null;

async function fetchManifest() {
  clearTimeout(manifestTimer);
  try {
    const response = await api("/board/api/manifest");
    if (response.status === 404) {
      note("Chưa có lịch trình chiếu cho bảng tin này.");
    } else if (response.ok) {
      await acceptManifest(await response.text());
    } else {
      throw new Error(`HTTP ${response.status}`);
    }
    manifestBackoff = 1000;
    manifestTimer = setTimeout(fetchManifest, POLL_MS * (0.9 + Math.random() * 0.2));
  } catch (e) {
    manifestTimer = setTimeout(fetchManifest, Math.min(manifestBackoff, POLL_MS));
    manifestBackoff = Math.min(manifestBackoff * 2, POLL_MS);
  }
}

function allMedia() {
  const seen = new Map();
  for (const entry of manifest ? manifest.timeline : []) {
    for (const slide of entry.slides) {
      for (const m of [slide.media, slide.qr]) if (m) seen.set(m.sha256, m);
    }
  }
  return [...seen.values()];
}

function prefetch() {
  const media = allMedia();
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage({ type: "prefetch", media, auth: auth() });
  } else {
    media.forEach((m) => mediaBlob(m).catch(() => {}));
  }
}

// A file's bytes from the cache the service worker fills; when the worker is not there yet, downloaded and
// checked here the same way.
async function mediaBlob(media) {
  const cache = await caches.open(MEDIA_CACHE);
  const key = "/board/media/" + media.sha256;
  const hit = await cache.match(key, { ignoreVary: true });
  if (hit) return hit.blob();
  const response = await api(media.url);
  if (!response.ok) throw new Error("download_failed");
  const body = await response.arrayBuffer();
  if ((await sha256Hex(body)) !== media.sha256) throw new Error("sha256_mismatch");
  await cache.put(key, new Response(body, { headers: { "Content-Type": media.mime } }));
  return new Blob([body], { type: media.mime });
}

// ---- windows (loa_protocol/windows.py) ----------------------------------------------------------------------
function localMinute(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(date);
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  return get("hour") * 60 + get("minute");
}

function minuteOf(hhmm) {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function screenOn(now) {
  if (!manifest) return false;
  if (manifest.closed) return false;
  if (!manifest.windows || manifest.windows.length === 0) return true;
  const m = localMinute(now, manifest.timezone);
  return manifest.windows.some((w) => {
    const a = minuteOf(w.start), b = minuteOf(w.end);
    if (a === b) return true;
    return a < b ? a <= m && m < b : m >= a || m < b;
  });
}

function activeEntry(now) {
  if (!manifest) return null;
  const t = now.getTime();
  let best = null;
  for (const entry of manifest.timeline) {
    if (Date.parse(entry.start) <= t && t < Date.parse(entry.end)) {
      if (!best || entry.priority < best.priority ||
          (entry.priority === best.priority && Date.parse(entry.start) > Date.parse(best.start))) best = entry;
    }
  }
  return best;
}

// ---- proof of display (IndexedDB queue) ---------------------------------------------------------------------
let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open("loa-board", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("proof", { keyPath: "event_id" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return dbPromise;
}

async function queueProof(record) {
  const database = await db();
  await new Promise((resolve, reject) => {
    const tx = database.transaction("proof", "readwrite");
    tx.objectStore("proof").put(record);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  board.queued += 1;
}

async function pendingProof(limit) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const request = database.transaction("proof").objectStore("proof").getAll(null, limit);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function dropProof(ids) {
  const database = await db();
  await new Promise((resolve, reject) => {
    const tx = database.transaction("proof", "readwrite");
    ids.forEach((id) => tx.objectStore("proof").delete(id));
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
}

let uploading = false;

async function uploadProof() {
  if (uploading || !creds()) return;
  uploading = true;
  try {
    for (;;) {
      const batch = await pendingProof(200);
      if (!batch.length) break;
      const response = await api("/board/api/proof", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ device_id: creds().device_id, displays: batch }),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const { stored } = await response.json();
      await dropProof(stored);
      board.uploaded += stored.length;
      if (batch.length < 200) break;
    }
  } catch (e) {
    // kept in IndexedDB: uploaded again on the next round (at least once; the server stores each once)
  } finally {
    uploading = false;
  }
}

// ---- the stage: zones cycling through the active entry's slides -------------------------------------------
let stage = null; // { entry, layout, zones: Map(zoneId → zoneState) }
let paused = true;
let offlineDuring = false;

function fitStage() {
  const el = $("#stage");
  if (!manifest) return;
  const { width, height } = manifest.screen;
  const scale = Math.min(window.innerWidth / width, window.innerHeight / height);
  el.style.width = width + "px";
  el.style.height = height + "px";
  el.style.transform = `translate(${(window.innerWidth - width * scale) / 2}px, ${(window.innerHeight - height * scale) / 2}px) scale(${scale})`;
}

function formatLocal(date, options) {
  return new Intl.DateTimeFormat("vi-VN", Object.assign({ timeZone: manifest ? manifest.timezone : "Asia/Ho_Chi_Minh" }, options)).format(date);
}

function fitText(box) {
  const inner = box.firstElementChild || box;
  let size = parseFloat(getComputedStyle(inner).fontSize);
  for (let i = 0; i < 40 && size > 8 && (box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1); i++) {
    size = Math.floor(size * 0.92);
    inner.style.fontSize = size + "px";
  }
}

function textElement(slide, zone) {
  const box = document.createElement("div");
  box.className = "slide-text";
  const inner = document.createElement("div");
  inner.style.fontSize = ((slide.text && slide.text.font_px) || Math.max(12, Math.round(zone.height / 8))) + "px";
  inner.style.textAlign = (slide.text && slide.text.align) || "left";
  if (slide.text && slide.text.title) {
    const h = document.createElement("h1");
    h.textContent = slide.text.title;
    inner.append(h);
  }
  const p = document.createElement("p");
  p.textContent = (slide.text && slide.text.body) || "";
  inner.append(p);
  box.append(inner);
  return box;
}

async function slideElement(slide, zone) {
  const el = document.createElement("div");
  el.className = `slide slide-${slide.kind}`;
  el.dataset.slideId = slide.slide_id;
  el.dataset.kind = slide.kind;
  if (slide.kind === "image" || slide.kind === "pdf_page") {
    const img = document.createElement("img");
    img.src = URL.createObjectURL(await mediaBlob(slide.media));
    img.alt = "";
    el.append(img);
  } else if (slide.kind === "video") {
    const video = document.createElement("video");
    video.muted = true;
    video.loop = true;
    video.autoplay = true;
    video.playsInline = true;
    video.src = URL.createObjectURL(await mediaBlob(slide.media));
    el.append(video);
    video.play().catch(() => {});
  } else if (slide.kind === "ticker") {
    const line = document.createElement("div");
    line.className = "ticker-line";
    line.textContent = (slide.text && (slide.text.body || slide.text.title)) || "";
    line.style.fontSize = Math.round(zone.height * 0.6) + "px";
    el.append(line);
    requestAnimationFrame(() => {
      const distance = zone.width + line.scrollWidth;
      line.animate([{ transform: `translateX(${zone.width}px)` }, { transform: `translateX(${-line.scrollWidth}px)` }],
        { duration: (distance / TICKER_PX_PER_S) * 1000, iterations: Infinity });
    });
  } else if (slide.kind === "clock") {
    const clock = document.createElement("div");
    clock.className = "clock";
    clock.style.fontSize = Math.round(Math.min(zone.height * 0.4, zone.width / 6)) + "px";
    const tick = () => {
      const now = new Date();
      clock.innerHTML = "";
      const t = document.createElement("div");
      t.textContent = formatLocal(now, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
      const d = document.createElement("div");
      d.className = "date";
      d.textContent = formatLocal(now, { weekday: "long", day: "2-digit", month: "2-digit", year: "numeric" });
      clock.append(t, d);
    };
    tick();
    el._timer = setInterval(tick, 1000);
    el.append(clock);
  } else {
    el.append(textElement(slide, zone));
    if (slide.kind === "bulletin") {
      if (slide.media) {
        const img = document.createElement("img");
        img.className = "bulletin-image";
        img.src = URL.createObjectURL(await mediaBlob(slide.media));
        el.append(img);
      }
      if (slide.qr) {
        const qr = document.createElement("img");
        qr.className = "qr";
        qr.src = URL.createObjectURL(await mediaBlob(slide.qr));
        el.append(qr);
      }
    }
  }
  return el;
}

function disposeElement(el) {
  if (!el) return;
  if (el._timer) clearInterval(el._timer);
  el.querySelectorAll("img, video").forEach((m) => {
    if (m.src && m.src.startsWith("blob:")) URL.revokeObjectURL(m.src);
  });
  el.remove();
}

function endDisplay(zs, reason) {
  const d = zs.display;
  if (!d) return;
  zs.display = null;
  const ended = new Date();
  const elapsed = (ended - d.startedAt) / 1000;
  const outcome = elapsed + 0.25 >= d.record.planned_s ? "shown" : "partial";
  const record = Object.assign({}, d.record, {
    ended_at: ended.toISOString(), outcome, reason: outcome === "shown" ? "" : reason || "interrupted",
    offline: d.record.offline || offlineDuring || !board.online,
  });
  board.shown.push({ slide_id: record.slide_id, zone: record.zone, started_at: record.started_at, ended_at: record.ended_at, outcome });
  if (board.shown.length > 500) board.shown.shift();
  queueProof(record).then(uploadProof);
}

async function showSlide(zs) {
  const slides = zs.slides;
  if (!slides.length || paused) return;
  const slide = slides[zs.index % slides.length];
  let el;
  try {
    el = await slideElement(slide, zs.zone);
  } catch (e) {
    note(`Không hiển thị được trang ${slide.slide_id}: ${e.message}`);
    zs.index += 1;
    zs.timer = setTimeout(() => boundary(zs), 1000);
    return;
  }
  if (paused || !stage || stage.zones.get(zs.zone.zone_id) !== zs) {
    disposeElement(el);
    return;
  }
  const old = zs.el;
  zs.box.append(el);
  zs.el = el;
  if (!board.firstSlideAt) board.firstSlideAt = performance.now(); // first paint of content, for the benchmark
  disposeElement(old);
  if (el.querySelector(".slide-text")) fitText(el.querySelector(".slide-text"));
  const entry = stage.entry;
  offlineDuring = !board.online;
  zs.display = {
    startedAt: new Date(),
    record: {
      event_id: crypto.randomUUID(), slide_id: slide.slide_id, entry_id: entry.entry_id,
      playlist_id: entry.playlist_id, schedule_id: entry.schedule_id || null, zone: zs.zone.zone_id,
      kind: slide.kind, content_sha256: slideHashes.get(slide.slide_id), started_at: new Date().toISOString(),
      planned_s: slide.duration_s, manifest_version: manifest.version, offline: !board.online,
    },
  };
  zs.timer = setTimeout(() => boundary(zs), slide.duration_s * 1000);
}

function boundary(zs) {
  endDisplay(zs, "next");
  zs.index += 1;
  const entry = activeEntry(new Date());
  const primary = stage && stage.primary === zs.zone.zone_id;
  if (primary && (!entry || entry.entry_id !== stage.entry.entry_id || stageStale)) {
    build();
    return;
  }
  showSlide(zs);
}

let stageStale = false;

function tearDown(reason) {
  if (!stage) return;
  for (const zs of stage.zones.values()) {
    clearTimeout(zs.timer);
    endDisplay(zs, reason);
    disposeElement(zs.el);
    zs.box.remove();
  }
  stage = null;
}

function build() {
  tearDown("next");
  stageStale = false;
  const entry = activeEntry(new Date());
  const el = $("#stage");
  el.innerHTML = "";
  if (!entry || paused) return;
  const layout = manifest.layouts.find((l) => l.layout_id === entry.layout_id);
  const zones = new Map();
  let primary = null;
  for (const zone of layout.zones) {
    const box = document.createElement("div");
    box.className = `zone zone-${zone.role}`;
    box.dataset.zone = zone.zone_id;
    Object.assign(box.style, { left: zone.x + "px", top: zone.y + "px", width: zone.width + "px", height: zone.height + "px" });
    el.append(box);
    const slides = entry.slides.filter((s) => s.zone === zone.zone_id);
    zones.set(zone.zone_id, { zone, box, slides, index: 0, el: null, timer: null, display: null });
  }
  // the zone whose slide boundaries switch entries: the main (or full) zone, else the first zone with slides
  for (const zs of zones.values()) {
    if (zs.slides.length && ["main", "full"].includes(zs.zone.role)) {
      primary = zs.zone.zone_id;
      break;
    }
  }
  if (primary === null) {
    const first = [...zones.values()].find((zs) => zs.slides.length);
    primary = first ? first.zone.zone_id : null;
  }
  stage = { entry, layout, zones, primary };
  for (const zs of zones.values()) showSlide(zs);
}

function scheduleSoon() {
  // a new manifest: the stage follows it at the next slide boundary of its main zone (or now, if nothing shows)
  stageStale = true;
  if (!stage) build();
}

// ---- what covers the stage: kill switch, emergency, dark screen ---------------------------------------------
let currentEmergency = null;
let screenOverride = null; // "on" / "off" from a command, until the next reload

function cancelledIds() {
  try {
    return new Set(JSON.parse(localStorage.getItem(KEYS.cancelled) || "[]"));
  } catch (e) {
    return new Set();
  }
}

async function takeEmergency(parsed, raw, source) {
  const c = creds();
  if (!parsed) {
    if (source === "stream") endEmergency();
    return;
  }
  if (!(await signatureValid(raw, c.public_key))) {
    refuse("bad_signature", "emergency");
    return;
  }
  if (!c.unit_codes.includes(parsed.unit_code)) return;
  const cancelled = cancelledIds();
  if (parsed.cancelled_at) {
    cancelled.add(parsed.emergency_id);
    localStorage.setItem(KEYS.cancelled, JSON.stringify([...cancelled].slice(-50)));
    if (currentEmergency && currentEmergency.emergency_id === parsed.emergency_id) endEmergency();
    return;
  }
  if (cancelled.has(parsed.emergency_id)) return;
  if (parsed.ends_at && Date.parse(parsed.ends_at) <= Date.now()) return;
  currentEmergency = parsed;
  board.emergency = parsed.emergency_id;
  render();
}

function endEmergency() {
  currentEmergency = null;
  board.emergency = null;
  render();
}

function renderEmergency() {
  const box = $("#emergency");
  const e = currentEmergency;
  box.querySelector(".title").textContent = e.title;
  box.querySelector(".text").textContent = e.text || "";
  const issued = new Date(e.issued_at);
  const say = (name, values) => Object.entries(values).reduce((text, [k, v]) => text.replace(`{${k}}`, v), box.dataset[name]);
  box.querySelector(".issued").textContent = say("issued", { time: formatLocal(issued, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", day: "2-digit", month: "2-digit", year: "numeric" }) });
  let line;
  if (e.ends_at) {
    const left = Math.max(0, Math.round((Date.parse(e.ends_at) - Date.now()) / 1000));
    line = say("left", { m: Math.floor(left / 60), s: left % 60 });
    if (left === 0) endEmergency();
  } else {
    const ago = Math.max(0, Math.round((Date.now() - issued.getTime()) / 1000));
    line = say("ago", { m: Math.floor(ago / 60), s: ago % 60 });
  }
  box.querySelector(".countdown").textContent = line;
}

function render() {
  const now = new Date();
  applyBrightness();
  const killed = board.killed;
  const emergency = !killed && currentEmergency;
  const lit = screenOverride === "off" ? false : screenOverride === "on" ? true : screenOn(now);
  $("#black").hidden = !killed;
  if (emergency && $("#emergency").hidden) board.emergencyShownAt = Date.now(); // for bench/board_player.py
  $("#emergency").hidden = !emergency;
  if (emergency) renderEmergency();
  $("#dark").hidden = killed || !!emergency || lit;
  board.screen = killed ? "black" : emergency || lit ? "on" : "off";
  const shouldPause = killed || !!emergency || !lit || !manifest;
  if (manifest) fitStage();
  if (shouldPause && !paused) {
    paused = true;
    tearDown(killed ? "killed" : emergency ? "preempted" : "window_closed");
    $("#stage").innerHTML = "";
  } else if (!shouldPause && paused) {
    paused = false;
    build();
  } else if (!shouldPause && !stage && activeEntry(now)) {
    build();
  }
}

// ---- push: server-sent events over fetch --------------------------------------------------------------------
let streamBackoff = 1000;

async function listen() {
  for (;;) {
    try {
      const response = await api("/board/api/events", { headers: { Accept: "text/event-stream" } });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      board.online = true;
      streamBackoff = 1000;
      uploadProof();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (data.length) await onEvent(event, data.join("\n"));
        }
      }
    } catch (e) {
      // the server or the link is down: keep showing the cache, try again
    }
    board.online = false;
    await new Promise((r) => setTimeout(r, streamBackoff));
    streamBackoff = Math.min(streamBackoff * 2, 30000);
  }
}

async function onEvent(event, data) {
  if (event === "hello") {
    const state = JSON.parse(data);
    if (!manifest || state.manifest !== manifest.version || board.refused.length) fetchManifest();
    if (state.commands) fetchCommands();
  } else if (event === "manifest") {
    fetchManifest();
  } else if (event === "emergency") {
    const parsed = JSON.parse(data);
    await takeEmergency(parsed, parsed && parseKeepingNumbers(data), "stream");
  } else if (event === "commands") {
    fetchCommands();
  }
}

// ---- commands (the fleet's board endpoints; signed like every command) ---------------------------------------
let fetchingCommands = false;

async function ack(command, status, reason) {
  const c = creds();
  await api(`/api/v1/fleet/boards/${c.device_id}/acks`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ v: 1, command_id: command.id, device_id: c.device_id, status, reason: reason || null,
      at: new Date().toISOString() }),
  });
}

let commandsAgain = false;

async function fetchCommands() {
  if (fetchingCommands) {
    commandsAgain = true; // announced while a fetch runs: fetch once more when it ends
    return;
  }
  fetchingCommands = true;
  commandsAgain = false;
  try {
    const c = creds();
    const response = await api(`/api/v1/fleet/boards/${c.device_id}/commands`);
    if (!response.ok) return;
    const text = await response.text();
    const list = JSON.parse(text).commands || [];
    const rawList = parseKeepingNumbers(text).commands || [];
    const done = new Set(JSON.parse(localStorage.getItem(KEYS.commands) || "[]"));
    for (let i = 0; i < list.length; i++) {
      const command = list[i];
      if (done.has(command.id)) {
        await ack(command, "done");
        continue;
      }
      let reason = "";
      if (!command.signature) reason = "unsigned";
      else if (!(await signatureValid(rawList[i], c.public_key))) reason = "bad_signature";
      else if (Date.parse(command.expires_at) <= Date.now()) reason = "expired";
      else if (c.enrolled_at && Date.parse(command.issued_at) < Date.parse(c.enrolled_at)) reason = "before_enrolment";
      if (reason) {
        await ack(command, "refused", reason);
        continue;
      }
      await ack(command, "received");
      done.add(command.id);
      localStorage.setItem(KEYS.commands, JSON.stringify([...done].slice(-200)));
      await runCommand(command);
    }
  } catch (e) {
    // tried again on the next push or heartbeat
  } finally {
    fetchingCommands = false;
    if (commandsAgain) fetchCommands();
  }
}

async function runCommand(command) {
  const p = command.params || {};
  switch (command.action) {
    case "reload":
    case "reboot": // a browser cannot restart its computer: the player restarts itself
      await ack(command, "done");
      location.reload();
      return;
    case "refresh_manifest":
      await fetchManifest();
      break;
    case "screen_on":
    case "screen_off":
      screenOverride = command.action === "screen_on" ? "on" : "off";
      render();
      break;
    case "brightness": // until the next step of the manifest's brightness schedule
      localStorage.setItem(KEYS.brightness, JSON.stringify({ percent: p.brightness, at: Date.parse(command.issued_at) }));
      applyBrightness();
      break;
    case "screenshot":
      await screenshot();
      break;
    case "kill_switch":
      localStorage.setItem(KEYS.kill, JSON.stringify({ engaged: !!p.engaged, at: Date.parse(command.issued_at) }));
      board.killed = killedNow();
      render();
      fetchManifest();
      break;
    default:
      await ack(command, "refused", "invalid");
      return;
  }
  await ack(command, "done");
}

// The kill switch: the manifest says, unless a signed kill_switch command issued after that manifest says otherwise
// (the command arrives first; the recompiled manifest follows).
function killedNow() {
  let override = null;
  try {
    override = JSON.parse(localStorage.getItem(KEYS.kill) || "null");
  } catch (e) {
    override = null;
  }
  if (override && (!manifest || Date.parse(manifest.issued_at) < override.at)) return !!override.engaged;
  return !!(manifest && manifest.killed);
}

// ---- brightness: the manifest's schedule (protocol.md §9b), a command until the schedule's next step ----------
// The same rule as loa_protocol.board.brightness_at: the last step at or before the local time, else the day's last
// step (it holds past midnight); null without steps.
function brightnessAt(steps, hhmm) {
  if (!steps || !steps.length) return null;
  const sorted = [...steps].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  let current = sorted[sorted.length - 1].percent;
  for (const step of sorted) if (step.at <= hhmm) current = step.percent;
  return current;
}

// When the step in force now began (ms), so a command given after it holds and one given before it does not.
function stepStartedAt(steps, now, timeZone) {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit",
    hourCycle: "h23" }).formatToParts(now);
  const get = (t) => Number(parts.find((x) => x.type === t).value);
  const minute = get("hour") * 60 + get("minute");
  const since = Math.min(...steps.map((s) => (minute - minuteOf(s.at) + 1440) % 1440));
  return now.getTime() - (since * 60 + get("second")) * 1000 - (now.getTime() % 1000);
}

function commandedBrightness() {
  const raw = localStorage.getItem(KEYS.brightness);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw);
    if (typeof value === "number") return { percent: value, at: 0 }; // stored by an older player
    return value && typeof value.percent === "number" ? value : null;
  } catch (e) {
    return null;
  }
}

function brightnessNow(now = new Date()) {
  const steps = (manifest && manifest.brightness) || [];
  const commanded = commandedBrightness();
  if (!steps.length) return commanded ? commanded.percent : 100;
  const timeZone = manifest.timezone;
  if (commanded && commanded.at >= stepStartedAt(steps, now, timeZone)) return commanded.percent;
  const hhmm = String(Math.floor(localMinute(now, timeZone) / 60)).padStart(2, "0") + ":" +
    String(localMinute(now, timeZone) % 60).padStart(2, "0");
  return brightnessAt(steps, hhmm);
}

// A page cannot drive a backlight or an LED controller's current: it dims its own pixels (CSS brightness filter).
function applyBrightness() {
  const value = Math.max(0, Math.min(100, brightnessNow()));
  board.brightness = value;
  const filter = value >= 100 ? "" : `brightness(${value}%)`;
  if (document.body.style.filter !== filter) document.body.style.filter = filter;
}
board.brightnessAt = brightnessAt;
board.brightnessNow = (ms) => brightnessNow(new Date(ms));

// ---- heartbeat and screenshot -------------------------------------------------------------------------------
async function heartbeat() {
  const c = creds();
  const main = stage && stage.zones.get(stage.primary);
  try {
    const response = await api(`/api/v1/fleet/boards/${c.device_id}/heartbeat`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ v: 1, device_id: c.device_id, ts: new Date().toISOString(),
        uptime_s: Math.round((Date.now() - started) / 1000), screen: board.screen,
        brightness: brightnessNow(),
        current_slide: main && main.display ? main.display.record.slide_id : null,
        manifest_version: manifest ? manifest.version : null, firmware: FIRMWARE }),
    });
    if (response.ok) {
      const body = await response.json();
      if (body.pending_commands > 0) fetchCommands();
      if (body.killed !== board.killed) fetchManifest();
    }
  } catch (e) {
    // offline: nothing to do
  }
}

// A web page cannot capture the real screen. This draws, at low resolution, what the page's own DOM shows right
// now — every visible element in document order at its laid-out position: backgrounds, images, video frames and
// text — so an element injected into the page shows up too. It cannot see anything drawn outside the page
// (docs/signage-player.md says what that proves and what not).
function drawScreen(maxWidth = 320) {
  const w = manifest ? manifest.screen.width : window.innerWidth;
  const h = manifest ? manifest.screen.height : window.innerHeight;
  const scale = Math.min(1, maxWidth / w);
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  const g = canvas.getContext("2d");
  g.fillStyle = "#000";
  g.fillRect(0, 0, canvas.width, canvas.height);
  const frame = manifest ? $("#stage").getBoundingClientRect() : { left: 0, top: 0, width: w, height: h };
  const sx = canvas.width / (frame.width || 1);
  const sy = canvas.height / (frame.height || 1);
  const stageScale = manifest ? frame.width / w : 1; // the stage's CSS pixels are screen pixels, scaled
  for (const el of document.body.querySelectorAll("*")) {
    if (el.id === "status" || el.closest("[hidden]") || el.closest("#status")) continue;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden" || Number(style.opacity) === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const x = (r.left - frame.left) * sx, y = (r.top - frame.top) * sy, ew = r.width * sx, eh = r.height * sy;
    if (style.backgroundColor && !/rgba\(.*,\s*0\)$/.test(style.backgroundColor) && style.backgroundColor !== "transparent") {
      g.fillStyle = style.backgroundColor;
      g.fillRect(x, y, ew, eh);
    }
    if (el instanceof HTMLImageElement || el instanceof HTMLVideoElement || el instanceof HTMLCanvasElement) {
      try {
        g.drawImage(el, x, y, ew, eh);
      } catch (e) {
        // not decodable yet
      }
      continue;
    }
    const text = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join("").trim();
    if (text) {
      const size = Math.max(4, parseFloat(style.fontSize) * (el.closest("#stage") ? stageScale : 1) * sy);
      g.fillStyle = style.color;
      g.font = `${style.fontWeight} ${size}px ${style.fontFamily}`;
      g.fillText(text, x, y + size, Math.max(ew, 1));
    }
  }
  return canvas;
}

async function screenshot() {
  const c = creds();
  if (!c) return;
  const canvas = drawScreen();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.7));
  try {
    await api(`/api/v1/fleet/boards/${c.device_id}/screenshots?taken_at=${encodeURIComponent(new Date().toISOString())}`, {
      method: "POST",
      headers: { "Content-Type": "image/jpeg" },
      body: blob,
    });
  } catch (e) {
    // offline: the next one goes
  }
}
board.drawScreen = drawScreen;

// ---- start ------------------------------------------------------------------------------------------------
async function start() {
  const c = creds();
  $("#device").textContent = c.device_id;
  applyBrightness();
  const stored = localStorage.getItem(KEYS.manifest);
  if (stored) await acceptManifest(stored, { stored: true });
  board.killed = killedNow();
  render();
  listen();
  fetchManifest();
  setInterval(render, 1000);
  setInterval(uploadProof, UPLOAD_MS);
  setInterval(heartbeat, HEARTBEAT_MS);
  setInterval(screenshot, SCREENSHOT_MS);
  setTimeout(heartbeat, 2000);
  window.addEventListener("resize", fitStage);
}

async function boot() {
  if ("serviceWorker" in navigator) {
    try {
      await navigator.serviceWorker.register("/board/sw.js", { scope: "/board/" });
    } catch (e) {
      note("Không đăng ký được service worker: bảng tin vẫn chạy nhưng không tự chạy lại khi mất máy chủ.");
    }
  }
  if (!creds()) showEnrolment();
  else start();
}

boot();
