/* Loa: the page side of emergency alerts (docs/citizen.md, "Cảnh báo"). The public app's "Nhận cảnh báo" button
   calls LoaAlerts.subscribe(communeCode); every function answers a Promise of {ok, message, communes?} with the
   message in Vietnamese, ready to show. No framework; ES5 like the rest of the app. */
(function () {
  'use strict';
  var BASE = '/congdan/canh-bao/';

  function keyBytes(b64) {
    var s = (b64 + '===='.slice(b64.length % 4 || 4)).replace(/-/g, '+').replace(/_/g, '/');
    var raw = atob(s), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function bytesB64(buffer) {
    var bytes = new Uint8Array(buffer), s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function post(path, body) {
    return fetch(BASE + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (r.ok) return { ok: true, message: data.message || '', data: data };
        return { ok: false, message: (data.error && data.error.message) || 'Không đăng ký được, hãy thử lại.', data: data };
      }, function () { return { ok: false, message: 'Máy chủ trả lời không hợp lệ, hãy thử lại sau.' }; });
    }, function () { return { ok: false, message: 'Không có kết nối mạng: hãy thử lại khi có mạng.' }; });
  }

  /* Send a subscription (what PushSubscription.toJSON() gives) for a commune to Loa. */
  function register(commune, subscriptionJSON) {
    var lang = (document.documentElement.lang || 'vi').slice(0, 2);
    return post('dang-ky/', { commune: commune, subscription: subscriptionJSON, lang: lang });
  }

  function supported() {
    return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  }

  /* Ask permission and subscribe this browser with Loa's current VAPID key (again if the key changed); then
     `then(sub.toJSON())`. Also used by the feedback's tracking page (static/citizen/feedback/notify.js). */
  function withSubscription(then) {
    if (!supported()) {
      return Promise.resolve({ ok: false, message: 'Trình duyệt này không nhận được thông báo đẩy. Hãy dùng Chrome, Firefox, Edge hoặc Safari mới.' });
    }
    return Notification.requestPermission().then(function (permission) {
      if (permission !== 'granted') {
        return { ok: false, message: 'Bạn chưa cho phép thông báo: hãy bật thông báo cho trang này trong cài đặt trình duyệt.' };
      }
      return Promise.all([
        navigator.serviceWorker.ready,
        fetch(BASE + 'khoa/').then(function (r) { return r.json(); })
      ]).then(function (res) {
        var reg = res[0], key = res[1].public_key;
        return reg.pushManager.getSubscription().then(function (existing) {
          var same = existing && existing.options && existing.options.applicationServerKey &&
            bytesB64(existing.options.applicationServerKey) === key;
          if (existing && !same) return existing.unsubscribe().then(function () { return null; });
          return existing;
        }).then(function (existing) {
          return existing || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
        }).then(function (sub) { return then(sub.toJSON()); });
      });
    }).catch(function () {
      return { ok: false, message: 'Không đăng ký được thông báo đẩy trên trình duyệt này, hãy thử lại.' };
    });
  }

  /* Ask permission, subscribe this browser, register it for a commune's alerts. */
  function subscribe(commune) {
    return withSubscription(function (json) { return register(commune, json); });
  }

  function current() {
    if (!supported()) return Promise.resolve(null);
    return navigator.serviceWorker.ready.then(function (reg) { return reg.pushManager.getSubscription(); });
  }

  /* Stop the alerts of one commune (or of all, without a code). */
  function unsubscribe(commune) {
    return current().then(function (sub) {
      if (!sub) return { ok: true, message: 'Trình duyệt này chưa đăng ký nhận cảnh báo.' };
      var body = { endpoint: sub.endpoint };
      if (commune) body.commune = commune;
      return post('huy/', body);
    });
  }

  /* The communes this browser gets alerts for. */
  function state() {
    return current().then(function (sub) {
      if (!sub) return { ok: true, communes: [] };
      return post('trang-thai/', { endpoint: sub.endpoint }).then(function (r) {
        return { ok: r.ok, message: r.message, communes: (r.data && r.data.communes) || [] };
      });
    });
  }

  window.LoaAlerts = { supported: supported, withSubscription: withSubscription, subscribe: subscribe, register: register, unsubscribe: unsubscribe, state: state };
})();
