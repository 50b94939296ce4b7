// "Nghe thử" on the abbreviations page: synthesise the reading shown (with this unit's table) and play it.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("try-listen");
  if (!box) return;
  const status = document.getElementById("listen-status");
  const audio = document.getElementById("listen-audio");
  const csrf = box.querySelector("[name=csrfmiddlewaretoken]").value;
  document.getElementById("btn-listen").addEventListener("click", async () => {
    status.textContent = box.dataset.msgSynthesizing;
    try {
      const response = await fetch(box.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ unit: box.dataset.unit, read_as: box.dataset.readAs, title: "Nghe thử từ viết tắt" }),
      });
      if (!response.ok) {
        let message = box.dataset.msgFailed.replace("{status}", response.status);
        try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
        throw new Error(message);
      }
      const data = await response.json();
      audio.hidden = false;
      audio.src = data.url;
      status.textContent = "";
      audio.play().catch(() => { /* autoplay may be blocked: the controls are there */ });
    } catch (e) {
      status.textContent = e.message;
    }
  });
});
