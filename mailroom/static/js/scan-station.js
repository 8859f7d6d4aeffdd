// Scan station: a handheld scanner types a code and Enter; every Enter logs one item without a reload.
// Requests are sent one after another (a queue), so fast scanning keeps its order. The scan field keeps
// the focus; kind, org unit and the confidential flag are set in the row. A kind chosen with the mouse is saved
// at once; with the keyboard (arrow keys) it is saved when committed by Enter or on leaving the field, so
// browsing the options neither saves each one nor throws the focus back. A wrong scan can be undone
// ("Stornieren") for a short time (config.void_minutes): a custody event, never a deletion.
// No dependencies, no build step.
(function () {
  "use strict";
  var configEl = document.getElementById("scan-config");
  var input = document.getElementById("scan-input");
  if (!configEl || !input) return;
  var config = JSON.parse(configEl.textContent);
  var rows = document.getElementById("scan-rows");
  var feedback = document.getElementById("scan-feedback");
  var countEl = document.getElementById("scan-count");
  var defaultKind = document.getElementById("default-kind");
  var defaultConfidential = document.getElementById("default-confidential");
  var soundOn = document.getElementById("sound-on");
  var kindTemplate = document.getElementById("kind-options");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";  // for the label form
  var queue = Promise.resolve();
  var pending = 0;
  var rowsByCode = {};
  var count = parseInt(countEl ? countEl.textContent : "0", 10) || 0;
  // The org unit field is as wide as the longest "FD20 – Fachdienst …" label, so no choice is cut off.
  var orgSize = 20;
  Array.prototype.forEach.call(document.querySelectorAll("#org-units option"), function (option) {
    orgSize = Math.max(orgSize, Math.min(64, option.value.length + 1));
  });

  function beep(level) {
    if (soundOn && !soundOn.checked) return;
    window.MailroomFeedback.beep(level);
  }

  // --- helpers ---
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) node.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function say(level, message) {
    feedback.textContent = message;
    feedback.className = "scan-feedback level-" + level;
  }
  var post = window.MailroomFeedback.postJson;
  function focusScan() {
    if (document.activeElement !== input) input.focus();
  }
  function detailsUrl(id) { return config.details_url.replace("/0/", "/" + id + "/"); }

  // --- rows ---
  function setHint(tr, level, message) {
    var hint = tr.querySelector(".hint");
    hint.textContent = message;
    tr.className = "intake-row level-" + level + (tr.dataset.confidential === "1" ? " is-confidential" : "") +
      (tr.dataset.status === "voided" ? " is-voided" : "");
  }
  function setStatus(tr, item) {
    var cell = tr.querySelector(".status");
    cell.textContent = "";
    cell.appendChild(el("span", { "class": "badge status-" + item.status }, item.status_label));
  }
  function setVoid(tr, item) {
    var cell = tr.querySelector(".actions");
    var button = cell.querySelector(".void-button");
    if (tr.voidTimer) { clearTimeout(tr.voidTimer); tr.voidTimer = null; }
    if (!item.void_seconds) {
      if (button) cell.removeChild(button);
      return;
    }
    if (!button) {
      button = el("button", { type: "button", "class": "slim void-button",
                              title: "Fehlscan stornieren (bleibt in der Historie)" }, "Stornieren");
      button.addEventListener("click", function () { voidRow(tr); });
      cell.appendChild(button);
    }
    tr.voidTimer = setTimeout(function () {
      if (button.parentNode) button.parentNode.removeChild(button);
    }, item.void_seconds * 1000);
  }
  function fillRow(tr, item, level, message) {
    tr.dataset.id = item.id;
    tr.dataset.code = item.code;
    tr.dataset.confidential = item.confidential ? "1" : "0";
    tr.dataset.status = item.status;
    var first = tr.children[0];
    first.textContent = "";
    var link = el("a", { href: item.url }, item.incoming_number);
    first.appendChild(link);
    first.appendChild(el("br"));
    first.appendChild(el("small", { "class": "muted" }, item.received_local || ""));
    var codeCell = tr.children[1];
    codeCell.textContent = "";
    codeCell.appendChild(el("code", null, item.code));
    if (item.check_digit_valid === false) codeCell.appendChild(el("span", { "class": "badge check-invalid" }, "Prüfziffer ungültig"));
    if (item.registered) codeCell.appendChild(el("span", { "class": "badge registered" }, "Einschreiben/PZU"));
    var select = tr.querySelector("select[name=kind]");
    if (document.activeElement !== select || !tr.kindDirty) select.value = item.kind || "";
    tr.savedKind = item.kind || "";
    var org = tr.querySelector("input[name=org_unit]");
    if (document.activeElement !== org) org.value = item.org_unit || "";
    var confidential = tr.querySelector("input[name=confidential]");
    confidential.checked = !!item.confidential;
    if (item.status !== "received") {
      select.disabled = true;
      org.disabled = true;
    }
    if (item.status === "voided") confidential.disabled = true;
    setStatus(tr, item);
    setVoid(tr, item);
    var text = message || (item.needs_details ? "Angaben fehlen" : "");
    var fallback = item.status === "voided" ? "info" : item.check_digit_valid === false ? "warn" :
      item.needs_details ? "todo" : "ok";
    setHint(tr, level || fallback, text);
    if (config.label_url && item.carrier_format === "internal" && !tr.querySelector(".label-form")) {
      // Our own code: a label to stick on the item (PDF in a new tab).
      var form = el("form", { method: "post", action: config.label_url.replace("/0/", "/" + item.id + "/"),
                              target: "_blank", "class": "label-form inline" });
      form.appendChild(el("input", { type: "hidden", name: "csrf_token", value: csrf }));
      form.appendChild(el("button", { type: "submit", "class": "slim" }, "Etikett drucken"));
      form.addEventListener("submit", function () { setTimeout(focusScan, 0); });
      tr.children[1].appendChild(form);
    }
  }
  function saveDetails(tr, changes) {
    var id = tr.dataset.id;
    if (!id) return;
    post(detailsUrl(id), changes).then(function (data) {
      var level = data.item.check_digit_valid === false || data.item.needs_details ? "warn" : "ok";
      fillRow(tr, data.item, level, data.item.needs_details ? "Gespeichert – Angaben fehlen noch" : "Gespeichert");
    }).catch(function (err) {
      setHint(tr, "error", err.message);
      beep("error");
    });
  }
  function voidRow(tr) {
    var id = tr.dataset.id;
    if (!id) return;
    var number = tr.children[0].querySelector("a");
    if (!window.confirm("Fehlscan " + (number ? number.textContent : "") + " stornieren? Die Sendung bleibt in der " +
                        "Historie, zählt aber nicht mehr als Eingang.")) { focusScan(); return; }
    post(config.void_url.replace("/0/", "/" + id + "/"), {}).then(function (data) {
      fillRow(tr, data.item, "info", data.message);
      count = Math.max(0, count - 1);
      if (countEl) countEl.textContent = String(count);
      say("info", data.message);
      beep("info");
    }).catch(function (err) {
      setHint(tr, "error", err.message);
      say("error", err.message);
      beep("error");
    }).then(focusScan);
  }
  function buildRow(code) {
    var tr = el("tr", { "class": "intake-row level-pending" });
    tr.appendChild(el("td", null, "…"));
    var codeCell = el("td");
    codeCell.appendChild(el("code", null, code));
    tr.appendChild(codeCell);
    // status (a badge) and the undo button next to the code, visible without scrolling sideways
    var statusCell = el("td", { "class": "status-cell" });
    statusCell.appendChild(el("span", { "class": "status" }));
    statusCell.appendChild(el("span", { "class": "actions" }));
    tr.appendChild(statusCell);
    var kindCell = el("td");
    kindCell.appendChild(kindTemplate.content.cloneNode(true));
    tr.appendChild(kindCell);
    var orgCell = el("td");
    var org = el("input", { name: "org_unit", list: "org-units", autocomplete: "off", "aria-label": "Fachdienst",
                            placeholder: "Fachdienst suchen", size: String(orgSize) });
    orgCell.appendChild(org);
    tr.appendChild(orgCell);
    var confCell = el("td");
    var label = el("label", { "class": "check" });
    var box = el("input", { type: "checkbox", name: "confidential", "aria-label": "vertraulich" });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" vertraulich"));
    confCell.appendChild(label);
    tr.appendChild(confCell);
    tr.appendChild(el("td", { "class": "hint" }, "wird erfasst …"));

    var select = kindCell.querySelector("select");
    var keyed = false;  // the last change came from the keyboard (arrow keys browse the options)
    function commitKind(refocus) {
      tr.kindDirty = false;
      if (select.value !== (tr.savedKind || "")) saveDetails(tr, { kind: select.value });
      if (refocus) focusScan();
    }
    select.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); commitKind(true); return; }
      if (e.key !== "Tab") keyed = true;
    });
    select.addEventListener("change", function () {
      if (keyed) { keyed = false; tr.kindDirty = true; return; }  // saved on Enter or when the field is left
      commitKind(true);
    });
    select.addEventListener("blur", function () {
      keyed = false;
      if (tr.kindDirty) commitKind(false);
    });
    box.addEventListener("change", function () { saveDetails(tr, { confidential: box.checked }); focusScan(); });
    org.addEventListener("change", function () {
      if (org.value.trim() === "") return;
      saveDetails(tr, { org_unit: org.value });
    });
    org.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); org.blur(); focusScan(); }
    });
    return tr;
  }
  function addRow(tr) {
    rows.insertBefore(tr, rows.firstChild);
  }
  function markSeen(tr) {
    tr.classList.remove("flash-seen");
    void tr.offsetWidth;  // restart the highlight animation
    tr.classList.add("flash-seen");
  }

  // --- scanning ---
  function submit(code, manual) {
    var tr = buildRow(manual ? "(ohne Barcode)" : code);
    addRow(tr);
    pending += 1;
    var body = { code: code, manual: !!manual, kind: defaultKind ? defaultKind.value : "",
                 confidential: defaultConfidential ? defaultConfidential.checked : false };
    queue = queue.then(function () {
      return post(config.scan_url, body).then(function (data) {
        var item = data.item;
        var known = rowsByCode[item.code];
        if (!data.created && known && known !== tr) {
          // Logged before in this session: show that row again instead of a second one.
          rows.removeChild(tr);
          rows.insertBefore(known, rows.firstChild);
          fillRow(known, item, data.level, data.message);
          markSeen(known);
        } else {
          rowsByCode[item.code] = tr;
          fillRow(tr, item, data.level, data.message);
          if (!data.created) markSeen(tr);
        }
        if (data.created) {
          count += 1;
          if (countEl) countEl.textContent = String(count);
        }
        say(data.level, data.message);
        beep(data.level);
      }).catch(function (err) {
        setHint(tr, "error", err.message);
        tr.children[0].textContent = "–";
        say("error", err.message);
        beep("error");
      }).then(function () {
        pending -= 1;
      });
    });
  }

  input.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") return;
    e.preventDefault();
    var code = input.value.trim();
    input.value = "";
    if (!code) return;
    submit(code, false);
  });
  document.getElementById("scan-form").addEventListener("submit", function (e) { e.preventDefault(); });
  var manualButton = document.getElementById("manual-button");
  if (manualButton) manualButton.addEventListener("click", function () { submit("", true); focusScan(); });

  // Keep the focus in the scan field: typing anywhere outside a form control goes there.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || tag === "BUTTON") return;
    if (e.key.length === 1 || e.key === "Enter") focusScan();
  });
  input.addEventListener("blur", function () {
    setTimeout(function () {
      var a = document.activeElement;
      if (!a || a === document.body) focusScan();
    }, 0);
  });
  window.addEventListener("beforeunload", function (e) {
    if (pending > 0) { e.preventDefault(); e.returnValue = ""; }
  });

  // Items logged today before this page was opened.
  (config.items || []).slice().reverse().forEach(function (item) {
    var tr = buildRow(item.code);
    rows.insertBefore(tr, rows.firstChild);
    rowsByCode[item.code] = tr;
    fillRow(tr, item);
  });
  focusScan();
})();
