// Record from the microphone in the browser (MediaRecorder) and upload the recording like a picked file.
// The server accepts what browsers record (WebM/Opus in Chromium, Ogg/Opus in Firefox, MP4/AAC in Safari).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("[data-recorder]");
  const form = document.getElementById("upload-form");
  const input = document.getElementById("upload-file");
  if (!box || !form || !input || !window.MediaRecorder || !navigator.mediaDevices) return;
  box.hidden = false;
  const rec = box.querySelector("[data-record]");
  const stop = box.querySelector("[data-stop]");
  const status = box.querySelector("[data-record-status]");
  let recorder = null;
  let chunks = [];
  let started = 0;
  let timer = null;
  const types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
  const type = types.find((t) => MediaRecorder.isTypeSupported(t)) || "";
  const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";

  rec.addEventListener("click", async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      chunks = [];
      recorder.ondataavailable = (ev) => { if (ev.data.size) chunks.push(ev.data); };
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        clearInterval(timer);
        const blob = new Blob(chunks, { type: recorder.mimeType || type || "audio/webm" });
        const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
        const file = new File([blob], `ghi-am-${stamp}.${ext}`, { type: blob.type });
        const dt = new DataTransfer();
        dt.items.add(file);
        input.files = dt.files;
        status.textContent = "Đang tải bản ghi âm lên…";
        form.requestSubmit();
        rec.disabled = false;
        stop.disabled = true;
      };
      recorder.start(1000);
      started = Date.now();
      rec.disabled = true;
      stop.disabled = false;
      timer = setInterval(() => {
        const s = Math.floor((Date.now() - started) / 1000);
        status.textContent = `Đang ghi âm ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
      }, 500);
      status.textContent = "Đang ghi âm…";
    } catch (err) {
      status.textContent = "Không dùng được micro: hãy cho phép trình duyệt truy cập micro rồi thử lại.";
    }
  });
  stop.addEventListener("click", () => { if (recorder && recorder.state !== "inactive") recorder.stop(); });
});
