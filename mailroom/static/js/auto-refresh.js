// Reloads the page every N seconds while the checkbox [data-auto-refresh="N"] is ticked. The user can
// switch it off (WCAG 2.2.1, in place of a meta refresh); the choice holds for this tab (sessionStorage).
(function () {
  "use strict";
  var box = document.querySelector("input[data-auto-refresh]");
  if (!box) return;
  var key = "auto-refresh:" + location.pathname;
  var seconds = parseInt(box.getAttribute("data-auto-refresh"), 10) || 30;
  var timer = null;
  try { if (sessionStorage.getItem(key) === "off") box.checked = false; } catch (e) { /* storage blocked */ }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = box.checked ? setTimeout(function () { location.reload(); }, seconds * 1000) : null;
  }

  box.addEventListener("change", function () {
    try { sessionStorage.setItem(key, box.checked ? "on" : "off"); } catch (e) { /* storage blocked */ }
    schedule();
  });
  var label = box.closest("label");
  if (label) label.hidden = false;
  schedule();
})();
