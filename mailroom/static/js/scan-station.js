// Scan station: a handheld scanner types a code and Enter; every Enter logs one item without a reload.
// Requests are sent one after another (a queue), so fast scanning keeps its order. The scan field keeps
// the focus; kind, org unit and the confidential flag are set in the row and saved at once.
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
    tr.className = "intake-row level-" + level + (tr.dataset.confidential === "1" ? " is-confidential" : "");
  }
  function fillRow(tr, item, level, message) {
    tr.dataset.id = item.id;
    tr.dataset.code = item.code;
    tr.dataset.confidential = item.confidential ? "1" : "0";
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
    select.value = item.kind || "";
    var org = tr.querySelector("input[name=org_unit]");
    if (document.activeElement !== org) org.value = item.org_unit || "";
    tr.querySelector("input[name=confidential]").checked = !!item.confidential;
    if (item.status !== "received") {
      select.disabled = true;
      org.disabled = true;
    }
    var text = message || (item.needs_details ? "Angaben fehlen" : item.status_label);
    setHint(tr, level || (item.check_digit_valid === false ? "warn" : item.needs_details ? "todo" : "ok"), text);
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
  function buildRow(code) {
    var tr = el("tr", { "class": "intake-row level-pending" });
    tr.appendChild(el("td", null, "…"));
    var codeCell = el("td");
    codeCell.appendChild(el("code", null, code));
    tr.appendChild(codeCell);
    var kindCell = el("td");
    kindCell.appendChild(kindTemplate.content.cloneNode(true));
    tr.appendChild(kindCell);
    var orgCell = el("td");
    var org = el("input", { name: "org_unit", list: "org-units", autocomplete: "off", "aria-label": "Fachdienst",
                            placeholder: "Fachdienst suchen" });
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
    select.addEventListener("change", function () { saveDetails(tr, { kind: select.value }); focusScan(); });
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
