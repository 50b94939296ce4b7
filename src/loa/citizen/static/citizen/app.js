/* Loa public app: commune search (with or without diacritics), "near me", remembering the last commune, the
   service worker (offline reading) and the "Nhận cảnh báo" hook for the Web Push part. No framework. */
(function () {
  'use strict';
  var body = document.body, api = body.dataset.api, t = function (k) { return body.dataset['t' + k] || ''; };
  var KEY = 'loa.commune';

  function fold(s) {
    return (s || '').replace(/đ/g, 'd').replace(/Đ/g, 'D').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
      .toLowerCase().replace(/\s+/g, ' ').trim();
  }
  window.loaFold = fold;

  // --- the service worker: what was last loaded stays readable offline ---
  if ('serviceWorker' in navigator && body.dataset.sw) {
    navigator.serviceWorker.register(body.dataset.sw, { scope: '/congdan/' }).catch(function () {});
  }
  function showOffline() {
    var note = document.getElementById('offline-note');
    if (note && !navigator.onLine) { note.textContent = t('Offline'); note.hidden = false; }
  }
  window.addEventListener('offline', showOffline);
  window.addEventListener('online', function () { var n = document.getElementById('offline-note'); if (n) n.hidden = true; });
  showOffline();

  // --- the chosen commune is remembered; the home page offers it first ---
  if (body.dataset.commune) {
    try { localStorage.setItem(KEY, JSON.stringify({ code: body.dataset.commune, name: body.dataset.communeName })); } catch (e) {}
  }
  var last = document.querySelector('[data-last-commune]');
  if (last) {
    try {
      var saved = JSON.parse(localStorage.getItem(KEY) || 'null');
      if (saved && saved.code) {
        last.href = '/congdan/xa/' + encodeURIComponent(saved.code) + '/';
        last.textContent = saved.name || saved.code;
        document.getElementById('last-commune').hidden = false;
      }
    } catch (e) {}
  }

  // The tabs open at the remembered commune — its news, its feedback form, its polls — instead of asking for it
  // again (a page that names its commune itself, its feed, has set them already); with none remembered yet, at
  // the commune of the page (a commune's bulletin opened from a shared link), without remembering it
  try {
    var mine = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (!(mine && mine.code) && body.dataset.pageCommune) mine = { code: body.dataset.pageCommune };
    if (mine && mine.code) {
      var code = encodeURIComponent(mine.code);
      var tabs = [['[data-feed-link]', '/congdan/', '/congdan/xa/' + code + '/'],
                  ['[data-feedback-link]', '/congdan/phan-anh/', '/congdan/phan-anh/?xa=' + code],
                  ['[data-polls-link]', '/congdan/tham-do/', '/congdan/tham-do/?xa=' + code]];
      tabs.forEach(function (tab) {
        var link = document.querySelector(tab[0]);
        if (link && link.getAttribute('href') === tab[1]) link.href = tab[2];
      });
    }
  } catch (e) {}

  // --- search as you type, and near me ---
  var form = document.querySelector('[data-commune-search]');
  var list = document.getElementById('communes'), status = document.getElementById('search-status');
  function show(rows) {
    if (!list) return;
    list.textContent = '';
    if (!rows.length) { status.textContent = t('Nothing'); return; }
    status.textContent = '';
    rows.forEach(function (c) {
      var li = document.createElement('li'), a = document.createElement('a'), b = document.createElement('strong'),
        s = document.createElement('span');
      a.href = '/congdan/xa/' + encodeURIComponent(c.code) + '/';
      a.dataset.commune = c.code;
      b.textContent = c.name;
      s.textContent = c.province + (c.distance_km != null ? ' · ' + t('Km') + ' ' + c.distance_km + ' km' : '');
      a.appendChild(b); a.appendChild(document.createTextNode(' ')); a.appendChild(s);
      li.appendChild(a); list.appendChild(li);
    });
  }
  function get(url) {
    return fetch(url, { headers: { Accept: 'application/json' } }).then(function (r) {
      if (!r.ok) throw new Error(r.status); return r.json();
    });
  }
  if (form) {
    var input = form.querySelector('input[name=q]'), timer = null, asked = '';
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === asked) return;
        asked = q;
        get(api + '/communes?q=' + encodeURIComponent(q)).then(function (d) { if (asked === q) show(d.items); })
          .catch(function () {});
      }, 200);
    });
  }
  var near = document.querySelector('[data-near-me]');
  if (near) {
    near.addEventListener('click', function () {
      if (!navigator.geolocation) { status.textContent = t('NoPosition'); return; }
      status.textContent = t('Locating');
      navigator.geolocation.getCurrentPosition(function (pos) {
        get(api + '/communes/near?lat=' + pos.coords.latitude + '&lon=' + pos.coords.longitude)
          .then(function (d) { show(d.items); }).catch(function () { status.textContent = t('NoPosition'); });
      }, function () { status.textContent = t('NoPosition'); }, { timeout: 15000, maximumAge: 600000 });
    });
  }

  // --- "Nhận cảnh báo": the Web Push part (static/alerts/subscribe.js, docs/citizen.md "Cảnh báo") ---
  var sub = document.querySelector('[data-subscribe]');
  if (sub) {
    sub.addEventListener('click', function () {
      var saved = null;
      try { saved = JSON.parse(localStorage.getItem(KEY) || 'null'); } catch (e) {}
      var code = sub.dataset.commune || (saved && saved.code) || '';
      var note = document.getElementById('subscribe-note');
      var say = function (text) { note.textContent = text; note.hidden = false; };
      if (!code) { location.href = '/congdan/'; return; }
      if (window.LoaAlerts && typeof window.LoaAlerts.subscribe === 'function') {
        window.LoaAlerts.subscribe(code).then(function (res) { say(res.message); });
      } else {
        say(t('AlertsSoon'));
      }
    });
  }

  // --- an alert pushed while the app is open shows at once, above everything ---
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', function (event) {
      var msg = event.data || {}, alert = msg.alert || {};
      if (msg.type !== 'loa-alert') return;
      if (body.dataset.commune && alert.unit && alert.unit !== body.dataset.commune) return;
      var main = document.getElementById('main'), box = document.getElementById('pushed-alert');
      if (alert.type === 'emergency_cancelled') { if (box) box.remove(); return; }
      if (!box) {
        box = document.createElement('section');
        box.id = 'pushed-alert'; box.className = 'emergency'; box.setAttribute('role', 'alert');
        main.insertBefore(box, main.firstChild);
      }
      box.textContent = '';
      var h = document.createElement('h2'), p = document.createElement('p');
      h.textContent = '\u26a0 ' + (alert.title || ''); p.textContent = alert.body || '';
      box.appendChild(h); box.appendChild(p);
    });
  }
})();
