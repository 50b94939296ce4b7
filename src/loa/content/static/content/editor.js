// Bulletin editor: live preview, "read as" from the TTS normalizer, and a TTS preview.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("bulletin-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const status = $("tts-status");
  const readAs = $("f-read-as");
  const audio = $("tts-audio");
  // the page's language: messages come from data-msg-* attributes the template translates
  const msg = (name, values = {}) => (form.dataset[name] || "")
    .replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));

  const sync = () => {
    $("pv-title").textContent = $("f-title").value;
    $("pv-summary").textContent = $("f-summary").value;
    $("pv-body").textContent = $("f-body").value;
  };
  ["f-title", "f-summary", "f-body"].forEach((id) => $(id).addEventListener("input", sync));

  const sourceText = () => [$("f-title").value, $("f-body").value || $("f-summary").value]
    .filter((s) => s.trim()).join(".\n");

  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let message = msg("msgFailed", { status: response.status });
      try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  };

  // the reading with what the machine will say differently from the written text marked
  const marked = $("read-as-marked");
  const showSpans = (spans) => {
    marked.replaceChildren(...spans.map((s) => {
      const node = document.createElement(s.changed ? "mark" : "span");
      node.textContent = s.text;
      return node;
    }));
    $("read-as-marked-box").hidden = spans.length === 0;
  };
  let spansTimer;
  const refreshSpans = () => {
    clearTimeout(spansTimer);
    spansTimer = setTimeout(async () => {
      if (!readAs.value.trim()) { showSpans([]); return; }
      try {
        const data = await (await post(form.dataset.spansUrl, { text: sourceText(), read_as: readAs.value })).json();
        showSpans(data.spans || []);
      } catch (e) { /* the marks are a help, not a step: the text area stays as typed */ }
    }, 400);
  };
  readAs.addEventListener("input", refreshSpans);
  if (readAs.value.trim()) refreshSpans();

  const normalize = async () => {
    const text = sourceText();
    if (!text) { status.textContent = msg("msgEmpty"); return false; }
    status.textContent = msg("msgNormalizing");
    const data = await (await post(form.dataset.normalizeUrl, { text, unit: form.dataset.unit })).json();
    readAs.value = data.read_as ?? "";
    showSpans(data.spans || []);
    status.textContent = msg("msgNormalized");
    return true;
  };

  $("btn-normalize").addEventListener("click", async () => {
    try { await normalize(); } catch (e) { status.textContent = e.message; }
  });

  $("btn-preview").addEventListener("click", async () => {
    try {
      if (!readAs.value.trim() && !(await normalize())) return;
      status.textContent = msg("msgSynthesizing");
      const response = await post(form.dataset.previewUrl, {
        unit: form.dataset.unit, text: sourceText(), read_as: readAs.value, title: $("f-title").value,
      });
      const type = response.headers.get("Content-Type") || "";
      let src;
      if (type.startsWith("audio/")) {
        src = URL.createObjectURL(await response.blob());
      } else {
        const data = await response.json();
        src = data.url || data.audio_url || data.src;
        // saved with the bulletin: the server keeps it if "read as" is still the text it was made from
        $("f-tts-clip").value = data.id || "";
      }
      audio.hidden = false;
      audio.src = src;
      audio.addEventListener("loadedmetadata", () => {
        status.textContent = msg("msgPreview", { seconds: Math.round(audio.duration) });
      }, { once: true });
      audio.play().catch(() => { /* autoplay may be blocked: the controls are there */ });
    } catch (e) {
      status.textContent = e.message;
    }
  });
});
