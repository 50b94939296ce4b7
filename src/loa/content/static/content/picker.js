// Filterable pick lists (no framework; CSP forbids inline scripts): a container [data-picker] holds an
// <input data-picker-filter> and items [data-picker-item data-text="…"]. Typing hides the items that do not
// match, ignoring case and Vietnamese diacritics ("ha tu" finds "Phường Hà Tu"). Optional: [data-picker-all]
// and [data-picker-none] buttons tick/untick the visible checkboxes, [data-picker-count] shows how many are
// ticked (its data-msg-some / data-msg-none give the words), [data-picker-empty] shows when nothing matches.
(() => {
  const fold = (s) => (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().trim();

  const setup = (box) => {
    const filter = box.querySelector("[data-picker-filter]");
    const items = Array.from(box.querySelectorAll("[data-picker-item]"));
    const empty = box.querySelector("[data-picker-empty]");
    const count = box.querySelector("[data-picker-count]");
    items.forEach((item) => { item.dataset.fold = fold(item.dataset.text || item.textContent); });

    const visible = () => items.filter((item) => !item.hidden);
    const update = () => {
      if (count) {
        const n = box.querySelectorAll("[data-picker-item] input:checked").length;
        // the words come translated from the template: data-msg-some ("{n}" replaced) and data-msg-none
        count.textContent = n ? (count.dataset.msgSome || "{n}").replace("{n}", String(n)) : count.dataset.msgNone || "";
      }
    };
    const apply = () => {
      const words = fold(filter ? filter.value : "").split(/\s+/).filter(Boolean);
      let shown = 0;
      items.forEach((item) => {
        const ok = words.every((w) => item.dataset.fold.includes(w));
        item.hidden = !ok;
        if (ok) shown += 1;
      });
      if (empty) empty.hidden = shown > 0;
    };
    if (filter) {
      filter.addEventListener("input", apply);
      // Enter in the filter must not submit the whole form
      filter.addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });
    }
    const tick = (value) => {
      visible().forEach((item) => {
        const input = item.querySelector("input[type=checkbox]");
        if (input) input.checked = value;
      });
      update();
    };
    box.querySelectorAll("[data-picker-all]").forEach((b) => b.addEventListener("click", () => tick(true)));
    box.querySelectorAll("[data-picker-none]").forEach((b) => b.addEventListener("click", () => tick(false)));
    box.addEventListener("change", update);
    apply();
    update();
  };

  const init = () => document.querySelectorAll("[data-picker]").forEach(setup);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
