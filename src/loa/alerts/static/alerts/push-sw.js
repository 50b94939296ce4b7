/* Loa: emergency alerts by Web Push, inside the public app's service worker (docs/citizen.md, "Cảnh báo").
   The app's service worker loads this file with importScripts(<static URL of alerts/push-sw.js>).

   A push carries JSON: {v, type: "emergency" | "emergency_cancelled", id, tag, title, body, unit, unit_name, url,
   sent_at}. It is shown as a notification (the cancel replaces the alert: same tag) and posted to every open page
   of the app as {type: "loa-alert", alert: <that JSON>}, so the page's banner changes without a reload. */
'use strict';
var LOA_ALERTS_BASE = '/congdan/canh-bao/';
var LOA_ALERT_ICON = '/static/citizen/icons/icon-192.png';

function loaAlertData(event) {
  if (!event.data) return { type: 'emergency', title: 'Cảnh báo khẩn cấp', body: '' };
  try {
    return event.data.json();
  } catch (e) {
    return { type: 'emergency', title: 'Cảnh báo khẩn cấp', body: event.data.text() };
  }
}

/* A citizen's own feedback moved (type "feedback", see loa/citizen/feedback_notify.py): the payload has no link;
   the tracking page kept its own address in the Cache API under LOA_FEEDBACK_LINKS + id. */
var LOA_FEEDBACK_LINKS = '/congdan/phan-anh/lien-ket/';

function loaFeedbackLink(id) {
  return caches.open('loa-feedback-links').then(function (c) { return c.match(LOA_FEEDBACK_LINKS + id); })
    .then(function (r) { return r ? r.text() : '/congdan/phan-anh/'; }, function () { return '/congdan/phan-anh/'; });
}

function loaFeedbackPush(event, data) {
  event.waitUntil(loaFeedbackLink(data.id).then(function (url) {
    return Promise.all([
      self.registration.showNotification(data.title || 'Phản ánh', {
        body: data.body || '', tag: data.tag || 'loa-feedback', renotify: true, lang: 'vi',
        icon: LOA_ALERT_ICON, badge: LOA_ALERT_ICON, vibrate: [100],
        timestamp: data.sent_at ? Date.parse(data.sent_at) : Date.now(),
        data: { url: url, id: data.id, type: data.type }
      }),
      self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
        list.forEach(function (c) { c.postMessage({ type: 'loa-feedback', feedback: data }); });
      })
    ]);
  }));
}

self.addEventListener('push', function (event) {
  var data = loaAlertData(event);
  if (data.type === 'feedback') return loaFeedbackPush(event, data);
  var emergency = data.type !== 'emergency_cancelled';
  var options = {
    body: data.body || '',
    tag: data.tag || 'loa-alert',
    renotify: true,
    requireInteraction: emergency,
    lang: 'vi',
    icon: LOA_ALERT_ICON,
    badge: LOA_ALERT_ICON,
    vibrate: emergency ? [400, 150, 400, 150, 400] : [100],
    timestamp: data.sent_at ? Date.parse(data.sent_at) : Date.now(),
    data: { url: data.url || '/congdan/', id: data.id, type: data.type }
  };
  event.waitUntil(Promise.all([
    self.registration.showNotification(data.title || 'Cảnh báo khẩn cấp', options),
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
      list.forEach(function (c) { c.postMessage({ type: 'loa-alert', alert: data }); });
    })
  ]));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || '/congdan/', self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (new URL(list[i].url).pathname === url.pathname && 'focus' in list[i]) return list[i].focus();
    }
    return self.clients.openWindow(url.href);
  }));
});

function loaPostJSON(path, body) {
  return fetch(LOA_ALERTS_BASE + path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
  }).then(function (r) { return r.json(); });
}

function loaKeyBytes(b64) {
  var s = (b64 + '===='.slice(b64.length % 4 || 4)).replace(/-/g, '+').replace(/_/g, '/');
  var raw = atob(s), out = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/* The browser replaced the subscription (expired or rotated by the push service): subscribe again with Loa's
   current key and move every commune the old one followed to the new one. */
self.addEventListener('pushsubscriptionchange', function (event) {
  var old = event.oldSubscription;
  event.waitUntil(Promise.all([
    old ? loaPostJSON('trang-thai/', { endpoint: old.endpoint }) : Promise.resolve({ communes: [] }),
    fetch(LOA_ALERTS_BASE + 'khoa/').then(function (r) { return r.json(); })
  ]).then(function (res) {
    var communes = res[0].communes || [];
    if (!communes.length) return null;
    var ready = event.newSubscription ? Promise.resolve(event.newSubscription) :
      self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: loaKeyBytes(res[1].public_key) });
    return ready.then(function (sub) {
      return Promise.all(communes.map(function (code) {
        return loaPostJSON('dang-ky/', { commune: code, subscription: sub.toJSON() });
      })).then(function () { return old ? loaPostJSON('huy/', { endpoint: old.endpoint }) : null; });
    });
  }));
});
