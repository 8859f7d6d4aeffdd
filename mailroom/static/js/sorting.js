// Sorting page: scanning an item puts it into its site's box and shows the box code large;
// scanning a box code (FACH-...) shows the box, whose items can be moved at once. No dependencies.
(function () {
  "use strict";
  var configEl = document.getElementById("sort-config");
  var input = document.getElementById("sort-input");
  if (!configEl || !input) return;
  var config = JSON.parse(configEl.textContent);
  var feedback = document.getElementById("sort-feedback");
  var display = document.getElementById("box-display");
  var boxCode = document.getElementById("box-code");
  var boxSite = document.getElementById("box-site");
  var panel = document.getElementById("box-panel");
  var log = document.getElementById("sort-log");
  var target = document.getElementById("box-target");
  var note = document.getElementById("box-note");
  var currentBox = null;
  var queue = Promise.resolve();

  var beep = window.MailroomFeedback.beep;
  function say(level, message) {
    feedback.textContent = message;
    feedback.className = "scan-feedback level-" + level;
    beep(level);
  }
  var post = window.MailroomFeedback.postJson;
  function showBoxLarge(code, name, level) {
    display.hidden = false;
    display.className = "box-display level-" + level;
    boxCode.textContent = code;
    boxSite.textContent = name;
  }
  function logLine(text, level) {
    var li = document.createElement("li");
    li.className = "level-" + level;
    li.textContent = text;
    log.insertBefore(li, log.firstChild);
    while (log.children.length > 30) log.removeChild(log.lastChild);
  }
  function showPanel(box) {
    currentBox = box;
    panel.hidden = false;
    document.getElementById("box-panel-code").textContent = box.box_code + " (" + box.site.name + ")";
    document.getElementById("box-panel-count").textContent = String(box.count);
    var list = document.getElementById("box-panel-items");
    list.textContent = "";
    box.items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.incoming_number;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" " + item.code + (item.org_unit_short ? " · " + item.org_unit_short : "") +
                                             (item.confidential ? " · VERTRAULICH" : "")));
      list.appendChild(li);
    });
  }

  function scan(code) {
    queue = queue.then(function () {
      return post(config.scan_url, { code: code }).then(function (data) {
        if (data.box) {
          showBoxLarge(data.box.box_code, data.box.site.name + ": " + data.box.count + " Sendung(en)", "box");
          showPanel(data.box);
          say("ok", "Fach " + data.box.box_code + " gewählt: Ziel-Fach scannen oder zurücksenden.");
          target.focus();
          return;
        }
        showBoxLarge(data.box_code, data.site.name, data.level);
        say(data.level, data.message);
        logLine(data.message, data.level);
      }).catch(function (err) {
        // Never leave the previous box on the large display after a failed scan: it invites the wrong box.
        showBoxLarge("–", "Fehler: diese Sendung in kein Fach legen", "error");
        say("error", err.message);
        // The message names the code already (e.g. "Keine Sendung mit dem Code „X“"); otherwise prefix it.
        logLine(err.message.indexOf(code) === -1 ? code + ": " + err.message : err.message, "error");
      });
    });
  }
  function boxAction(body) {
    post(config.box_url, body).then(function (data) {
      say("ok", data.message);
      logLine(data.message, "ok");
      showPanel(data.box);
      target.value = "";
      note.value = "";
      input.focus();
    }).catch(function (err) {
      showBoxLarge("–", "Fehler: nichts umsortiert", "error");
      say("error", err.message);
    });
  }

  input.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") return;
    e.preventDefault();
    var code = input.value.trim();
    input.value = "";
    if (code) scan(code);
  });
  document.getElementById("sort-form").addEventListener("submit", function (e) { e.preventDefault(); });
  target.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); document.getElementById("box-move").click(); }
  });
  document.getElementById("box-move").addEventListener("click", function () {
    if (!currentBox) return;
    boxAction({ source: currentBox.box_code, action: "move", target: target.value.trim() });
  });
  document.getElementById("box-return").addEventListener("click", function () {
    if (!currentBox) return;
    if (!window.confirm("Alle " + currentBox.count + " Sendung(en) aus " + currentBox.box_code + " zurücksenden?")) return;
    boxAction({ source: currentBox.box_code, action: "return", note: note.value });
  });
  input.focus();
})();
