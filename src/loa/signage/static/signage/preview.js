// Draws a board frame (screen, zones, slides: the manifest's own JSON) at the board's real resolution, scaled to
// fit the page; each zone cycles through its slides with their durations, as the player does.
(function () {
  "use strict";
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function render(slide, zone) {
    var box = el("div");
    box.style.width = "100%"; box.style.height = "100%"; box.style.display = "flex";
    box.style.alignItems = "center"; box.style.justifyContent = "center";
    var t = slide.text || {};
    if (slide.kind === "clock") {
      var c = el("div", "board-text");
      c.style.fontSize = Math.round(zone.height * 0.45) + "px"; c.style.textAlign = "center";
      var tick = function () {
        var now = new Date();
        c.textContent = now.toLocaleTimeString("vi-VN", {hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh"}) +
          " " + now.toLocaleDateString("vi-VN", {timeZone: "Asia/Ho_Chi_Minh"});
      };
      tick(); setInterval(tick, 30000); box.appendChild(c);
    } else if (slide.kind === "ticker") {
      var k = el("div", "board-text", t.body || "");
      k.style.fontSize = Math.round(zone.height * 0.55) + "px"; k.style.whiteSpace = "nowrap";
      box.appendChild(k);
    } else if (slide.kind === "text" || slide.kind === "bulletin") {
      var wrap = slide.kind === "bulletin" ? el("div", "board-bulletin") : box;
      var p = el("div", "board-text", t.body || "");
      if (t.font_px) p.style.fontSize = t.font_px + "px";
      wrap.appendChild(p);
      if (slide.media || slide.qr) {
        var side = el("div");
        side.style.flex = "0 0 26%"; side.style.display = "flex"; side.style.flexDirection = "column";
        side.style.gap = "4%"; side.style.alignItems = "center";
        if (slide.media) { var im = el("img"); im.src = slide.media.url; im.alt = ""; side.appendChild(im); }
        if (slide.qr) { var q = el("img"); q.src = slide.qr.url; q.alt = "QR"; q.style.background = "#fff"; side.appendChild(q); }
        wrap.appendChild(side);
      }
      if (wrap !== box) box.appendChild(wrap);
    } else if (slide.media) {
      var m;
      if (slide.kind === "video") { m = el("video"); m.muted = true; m.autoplay = true; m.loop = true; m.playsInline = true; }
      else { m = el("img"); m.alt = ""; }
      m.src = slide.media.url; box.appendChild(m);
    }
    return box;
  }
  function draw(holder) {
    var frame = JSON.parse(document.getElementById(holder.dataset.frame).textContent);
    var w = frame.screen.width, h = frame.screen.height;
    var screen = el("div", "board-screen");
    screen.style.width = w + "px"; screen.style.height = h + "px";
    var fit = function () {
      var s = holder.clientWidth / w;
      screen.style.transform = "scale(" + s + ")";
      holder.style.height = Math.ceil(h * s) + "px";
    };
    (frame.zones || []).forEach(function (z) {
      var zone = el("div", "board-zone");
      zone.dataset.role = z.role; zone.dataset.zone = z.zone_id;
      zone.style.left = z.x + "px"; zone.style.top = z.y + "px";
      zone.style.width = z.width + "px"; zone.style.height = z.height + "px";
      var slides = (frame.slides || []).filter(function (s) { return s.zone === z.zone_id; });
      var i = 0;
      var show = function () {
        if (!slides.length) return;
        zone.replaceChildren(render(slides[i], z));
        zone.dataset.slide = slides[i].slide_id;
        var d = slides[i].duration_s * 1000;
        i = (i + 1) % slides.length;
        if (slides.length > 1) setTimeout(show, d);
      };
      show();
      screen.appendChild(zone);
    });
    holder.appendChild(screen);
    fit();
    window.addEventListener("resize", fit);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-frame]").forEach(draw);
  });
})();
