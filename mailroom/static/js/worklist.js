// Work list: every field of a row is saved on its own, as at the scan station (no button per row).
// A kind chosen with the mouse is saved at once; with the arrow keys when committed by Enter or on
// leaving the field. The org unit is saved when it is changed (chosen from the list or typed, then Enter).
// No dependencies.
(function () {
  "use strict";
  var configEl = document.getElementById("worklist-config");
  var table = document.getElementById("worklist");
  if (!configEl || !table) return;
  var config = JSON.parse(configEl.textContent);
  var post = window.MailroomFeedback.postJson;

  function detailsUrl(id) { return config.details_url.replace("/0/", "/" + id + "/"); }
  function setHint(tr, level, message) {
    var hint = tr.querySelector(".hint");
    var form = hint.querySelector("form");
    hint.textContent = message;
    if (form) hint.appendChild(form);  // keeps the fields' form (the page works without JavaScript too)
    tr.className = "intake-row level-" + level + (tr.dataset.confidential === "1" ? " is-confidential" : "");
  }
  function save(tr, changes) {
    setHint(tr, "pending", "wird gespeichert …");
    post(detailsUrl(tr.dataset.id), changes).then(function (data) {
      var item = data.item;
      tr.dataset.confidential = item.confidential ? "1" : "0";
      tr.querySelector("input[name=confidential][type=checkbox]").checked = !!item.confidential;
      tr.savedKind = item.kind || "";
      if (item.needs_details) setHint(tr, "todo", "Gespeichert – Angaben fehlen noch");
      else setHint(tr, "ok", "Gespeichert – vollständig");
    }).catch(function (err) {
      setHint(tr, "error", err.message);
      window.MailroomFeedback.beep("error");
    });
  }

  Array.prototype.forEach.call(table.querySelectorAll("tbody tr[data-id]"), function (tr) {
    var select = tr.querySelector("select[name=kind]");
    var org = tr.querySelector("input[name=org_unit]");
    var box = tr.querySelector("input[name=confidential][type=checkbox]");
    tr.dataset.confidential = box.checked ? "1" : "0";
    tr.savedKind = select.value;
    var keyed = false, dirty = false;
    function commitKind() {
      dirty = false;
      if (select.value !== tr.savedKind) save(tr, { kind: select.value });
    }
    select.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); commitKind(); return; }
      if (e.key !== "Tab") keyed = true;
    });
    select.addEventListener("change", function () {
      if (keyed) { keyed = false; dirty = true; return; }
      commitKind();
    });
    select.addEventListener("blur", function () { keyed = false; if (dirty) commitKind(); });
    org.addEventListener("change", function () {
      if (org.value.trim() === "") return;
      save(tr, { org_unit: org.value });
    });
    org.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); org.blur(); }
    });
    box.addEventListener("change", function () { save(tr, { confidential: box.checked }); });
  });
})();
