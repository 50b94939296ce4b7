/* Feedback page of the console: a canned answer fills the answer box (which stays editable). */
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var select = e.target;
    if (!select.matches || !select.matches("[data-canned-target]") || !select.value) { return; }
    var box = document.getElementById(select.dataset.cannedTarget);
    if (box) { box.value = select.value; box.focus(); }
  });
})();
