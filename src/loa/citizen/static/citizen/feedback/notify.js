/* Loa: "Báo cho tôi khi có trả lời" on a feedback's tracking page (docs/citizen.md, "Báo cho người gửi").
   Only after the citizen presses the button and allows notifications: the browser's push subscription is sent to
   the page's own .../thong-bao/ address, and the page's address is kept in the Cache API so that the service
   worker can open it when a notification about this feedback is clicked (the server never stores the link). */
(function () {
  'use strict';
  var box = document.getElementById('fb-notify');
  if (!box) return;
  var note = document.getElementById('fb-notify-note');
  function say(text) { note.textContent = text; note.hidden = false; }

  function keepLink() {
    if (!('caches' in window)) return Promise.resolve();
    return caches.open('loa-feedback-links').then(function (c) {
      return c.put('/congdan/phan-anh/lien-ket/' + box.dataset.id,
        new Response(location.pathname, { headers: { 'Content-Type': 'text/plain' } }));
    }).catch(function () {});
  }

  /* Send a subscription (PushSubscription.toJSON()) for this feedback; answers a Promise of {ok, message}. */
  function register(subscriptionJSON) {
    var lang = (document.documentElement.lang || 'vi').slice(0, 2);
    return fetch(box.dataset.follow, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ subscription: subscriptionJSON, lang: lang })
    }).then(function (r) {
      return r.json().then(function (data) {
        if (r.ok) return keepLink().then(function () { return { ok: true, message: data.message }; });
        return { ok: false, message: (data.error && data.error.message) || box.dataset.tFailed };
      }, function () { return { ok: false, message: box.dataset.tFailed }; });
    }, function () { return { ok: false, message: box.dataset.tOffline }; });
  }

  var button = box.querySelector('button');
  if (!window.LoaAlerts || !window.LoaAlerts.supported()) {
    button.disabled = true;
    say(box.dataset.tUnsupported);
  } else {
    button.addEventListener('click', function () {
      button.disabled = true;
      window.LoaAlerts.withSubscription(register).then(function (res) {
        say(res.message); button.disabled = false;
      });
    });
  }

  // a change pushed while the page is open: say so, with a reload link
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', function (event) {
      var msg = event.data || {};
      if (msg.type !== 'loa-feedback' || !msg.feedback || String(msg.feedback.id) !== box.dataset.id) return;
      say(msg.feedback.title || '');
    });
  }
  window.LoaFeedbackNotify = { register: register };
})();
