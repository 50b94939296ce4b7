// Small behaviours of the console; everything works without them too.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector("[data-toggle-nav]");
  const nav = document.getElementById("nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  document.querySelectorAll("select[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form.submit());
  });
  const phone = window.matchMedia("(max-width: 600px)");
  // Filters fold into "Bộ lọc" (open on a desk, closed on a phone unless the page was just filtered); a form that
  // only looks like one (data-no-fold: the monthly report's download) stays as it is.
  document.querySelectorAll("main form.filters:not([data-no-fold])").forEach((form) => {
    const box = document.createElement("details");
    box.className = "filters-box";
    const summary = document.createElement("summary");
    summary.textContent = document.body.dataset.filtersLabel || "Bộ lọc";
    box.appendChild(summary);
    form.parentNode.insertBefore(box, form);
    box.appendChild(form);
    box.open = !phone.matches;
  });
  // Tables read as cards on a phone: each cell is labelled with its column's heading — again after htmx swaps
  // part of the page in (a command's deliveries refresh every 2 s and lost their labels).
  const labelTables = (root) => {
    root.querySelectorAll("table").forEach((table) => {
      const heads = Array.from(table.querySelectorAll(":scope > thead > tr > th")).map((th) => th.textContent.trim());
      if (!heads.length) return;
      table.querySelectorAll(":scope > tbody > tr").forEach((tr) => {
        Array.from(tr.children).forEach((td, i) => {
          if (td.tagName === "TD" && !td.hasAttribute("data-label") && heads[i] && !td.hasAttribute("colspan")) {
            td.setAttribute("data-label", heads[i]);
          }
        });
      });
    });
  };
  // The command form shows the fields of the chosen command only (play: what to play; volume; brightness); the
  // others are disabled too, so a value typed for another command is not sent. Without script all are shown.
  const action = document.querySelector("#command-form select[name=action]");
  if (action) {
    const parts = document.querySelectorAll("#command-form [data-when-action]");
    const showFields = () =>
      parts.forEach((part) => {
        const on = part.dataset.whenAction.split(" ").includes(action.value);
        part.style.display = on ? "" : "none";
        part.querySelectorAll("input, select, textarea").forEach((field) => {
          field.disabled = !on;
        });
      });
    action.addEventListener("change", showFields);
    showFields();
  }
  const main = document.querySelector("main");
  if (main) {
    labelTables(main);
    // after any swap (an outerHTML swap's event target is the element it replaced): label what is new, cheaply
    document.body.addEventListener("htmx:afterSettle", () => labelTables(main));
  }
  // One date format (dd/mm/yyyy, with hh:mm for a moment) and one date picker: the calendar button opens the
  // browser's own calendar and writes the chosen day back in that format; typing works as well.
  const pad = (n) => String(n).padStart(2, "0");
  document.querySelectorAll("input[data-date], input[data-datetime]").forEach((input) => {
    if (input.closest(".date-field")) return;
    const withTime = input.hasAttribute("data-datetime");
    const wrap = document.createElement("span");
    wrap.className = "date-field";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    const native = document.createElement("input");
    native.type = withTime ? "datetime-local" : "date";
    native.className = "native-picker";
    native.tabIndex = -1;
    native.setAttribute("aria-hidden", "true");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "date-pick";
    button.innerHTML =
      '<svg width="20" height="20" viewBox="0 0 20 20" aria-hidden="true" focusable="false"><rect x="2.5" y="4" ' +
      'width="15" height="13.5" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M2.5 8h15M6.5 ' +
      '2v4M13.5 2v4" stroke="currentColor" stroke-width="1.6"/></svg>';
    button.title = document.body.dataset.datePick || "";
    button.setAttribute("aria-label", button.title);
    wrap.appendChild(button);
    wrap.appendChild(native);
    button.addEventListener("click", () => {
      const m = input.value.trim().match(/^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2}))?$/);
      if (m) {
        const day = `${m[3]}-${pad(m[2])}-${pad(m[1])}`;
        native.value = withTime ? `${day}T${pad(m[4] || 0)}:${m[5] || "00"}` : day;
      }
      if (typeof native.showPicker === "function") native.showPicker();
      else native.focus();
    });
    native.addEventListener("change", () => {
      const m = native.value.match(/^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/);
      if (!m) return;
      input.value = `${m[3]}/${m[2]}/${m[1]}` + (withTime ? ` ${m[4] || "00"}:${m[5] || "00"}` : "");
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
});
