/* The courier's route sheet on the phone. The tour is embedded in the page as JSON; every action
   (start, stop done, skip, end) goes into a queue in localStorage first, with a client-generated id and
   the time it was done, and is sent from there: at once when there is network, later otherwise
   (on the `online` event and every few seconds). The server stores each action id once, so sending
   an action again is harmless. No dependencies, no build step. */
(function () {
  "use strict";

  var RETRY_MS = 5000;
  var dataNode = document.getElementById("tour-data");
  var root = document.getElementById("courier-app");
  if (!dataNode || !root) return;

  var server = JSON.parse(dataNode.textContent);
  var urls = JSON.parse(document.getElementById("tour-urls").textContent);
  var userMeta = document.querySelector('meta[name="courier-user"]');
  var userKey = userMeta ? userMeta.getAttribute("content") : "anon";
  var QUEUE_KEY = "mailroom.courier.queue." + userKey;
  var FAILED_KEY = "mailroom.courier.failed." + userKey;
  var hasDetector = "BarcodeDetector" in window;

  var queue = load(QUEUE_KEY);
  var failed = load(FAILED_KEY);
  var forms = {}; // per stop: {selected: {itemId: true}, receiver: "", pickups: 0, pad: SignaturePad}
  var rendered = {}; // per card key: the JSON it was last drawn from
  var flushing = false;
  var loginNeeded = false;

  // --- storage and small helpers ----------------------------------------------------------------

  function load(key) {
    try {
      var value = JSON.parse(window.localStorage.getItem(key) || "[]");
      return Array.isArray(value) ? value : [];
    } catch (e) {
      return [];
    }
  }

  function save() {
    try {
      window.localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
      window.localStorage.setItem(FAILED_KEY, JSON.stringify(failed.slice(-20)));
    } catch (e) {
      message("Der Speicher des Handys ist voll: Aktionen können nicht zwischengespeichert werden.", "error");
    }
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "text") node.textContent = value;
        else if (key === "className") node.className = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else if (key === "dataset") Object.keys(value).forEach(function (d) { node.dataset[d] = value[d]; });
        else node.setAttribute(key, value === true ? "" : value);
      });
    }
    function add(child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) child.forEach(add);
      else node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    for (var i = 2; i < arguments.length; i++) add(arguments[i]);
    return node;
  }

  function clock(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin" });
  }

  function kmText(value) {
    if (value === null || value === undefined) return "";
    return Number(value).toLocaleString("de-DE", { maximumFractionDigits: 1 });
  }

  function message(text, kind) {
    var box = document.getElementById("courier-messages");
    if (!box) return;
    var p = el("p", { className: "flash flash-" + (kind || "warning"), text: text });
    box.appendChild(p);
    if (kind !== "error") setTimeout(function () { if (p.parentNode) p.parentNode.removeChild(p); }, 8000);
  }

  // --- state: what the server knows plus what is still queued ----------------------------------------

  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  function findStop(st, id) {
    for (var i = 0; i < st.stops.length; i++) if (st.stops[i].id === id) return st.stops[i];
    return null;
  }

  function applyAction(st, action) {
    var b = action.body;
    if (action.kind === "start") {
      st.status = "started";
      st.status_label = "Unterwegs";
      st.started_at = b.at;
      st.start_reading = { km: b.km, soc: b.soc };
      st.stops.forEach(function (s) {
        // Only what was ticked or scanned on the load list is in the van; the rest stays in the mail room.
        if (b.loaded) s.items = s.items.filter(function (i) { return i.status !== "sorted" || b.loaded.indexOf(i.id) >= 0; });
        s.items.forEach(function (i) { if (i.status === "sorted") { i.status = "loaded"; i.status_label = "Verladen"; } });
      });
    } else if (action.kind === "stop_done") {
      var stop = findStop(st, action.stop);
      if (!stop) return;
      stop.status = "done";
      stop.done_at = b.at;
      stop.pickups_count = b.pickups;
      stop.items.forEach(function (i) {
        if ((b.items || []).indexOf(i.id) >= 0) { i.status = "delivered"; i.status_label = "Zugestellt"; }
      });
    } else if (action.kind === "skip") {
      var skipped = findStop(st, action.stop);
      if (!skipped) return;
      skipped.status = "skipped";
      skipped.skip_reason = b.reason;
      skipped.done_at = b.at;
      skipped.items = [];
    } else if (action.kind === "end" && st.status === "cancelled") {
      // a breakdown: only the van's reading where it stopped
      st.end_reading = { km: b.km, soc: b.soc };
      if (st.start_reading) st.driven_km = Math.round((b.km - st.start_reading.km) * 10) / 10;
    } else if (action.kind === "end") {
      st.status = "finished";
      st.status_label = "Beendet";
      st.finished_at = b.at;
      st.end_reading = { km: b.km, soc: b.soc };
      if (st.start_reading) st.driven_km = Math.round((b.km - st.start_reading.km) * 10) / 10;
      st.stops.forEach(function (s) {
        if (s.status === "open") { s.status = "skipped"; s.skip_reason = "Bei Tourende nicht angefahren"; }
        s.items = s.items.filter(function (i) { return i.status === "delivered"; });
      });
    }
  }

  function pendingFor(st) {
    var pending = {};
    queue.forEach(function (a) { if (a.tour === st.id && a.stop) pending[a.stop] = true; });
    return pending;
  }

  function current() {
    var st = copy(server);
    queue.forEach(function (a) { if (a.tour === st.id) applyAction(st, a); });
    return st;
  }

  // --- the queue ---------------------------------------------------------------------------------------

  function enqueue(kind, stopId, fields) {
    var id = uuid();
    var body = { client_action_id: id, at: new Date().toISOString() };
    Object.keys(fields || {}).forEach(function (k) { body[k] = fields[k]; });
    var url = urls[kind];
    if (stopId) url = url.replace("{stop}", String(stopId));
    queue.push({ id: id, kind: kind, tour: server.id, stop: stopId || null, url: url, body: body });
    save();
    render();
    flush();
  }

  function queueBadge() {
    var badge = document.getElementById("queue-badge");
    if (!badge) return;
    var n = queue.length;
    badge.hidden = n === 0;
    badge.textContent = n === 1 ? "1 Aktion wartet auf Netz" : n + " Aktionen warten auf Netz";
    var offline = document.getElementById("offline-badge");
    if (offline) offline.hidden = navigator.onLine !== false;
  }

  function refreshToken() {
    // A long offline spell can outlive the form token: fetch the page again for a fresh one.
    return fetch(window.location.href, { credentials: "same-origin", redirect: "manual" })
      .then(function (res) {
        if (!res.ok) return false;
        return res.text().then(function (html) {
          var match = html.match(/<meta name="csrf-token" content="([^"]+)"/);
          if (!match) return false;
          document.querySelector('meta[name="csrf-token"]').setAttribute("content", match[1]);
          return true;
        });
      })
      .catch(function () { return false; });
  }

  function send(action) {
    return fetch(action.url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(action.body),
    }).then(function (res) {
      if (res.type === "opaqueredirect" || res.status === 401 || res.status === 302) return { login: true };
      return res
        .json()
        .catch(function () { return null; })
        .then(function (body) { return { status: res.status, ok: res.ok, body: body }; });
    });
  }

  function flush() {
    if (flushing || !queue.length) { queueBadge(); return Promise.resolve(); }
    flushing = true;
    var tokenRetries = 0;
    var changed = false;

    function next() {
      if (!queue.length) return Promise.resolve();
      var action = queue[0];
      return send(action).then(
        function (answer) {
          if (answer.login) {
            if (!loginNeeded) message("Bitte neu anmelden: die Aktionen bleiben gespeichert und werden danach gesendet.", "error");
            loginNeeded = true;
            return null;
          }
          loginNeeded = false;
          var error = answer.body && answer.body.error;
          if (answer.ok) {
            queue.shift();
            save();
            queueBadge();
            if (action.tour === server.id) applyAction(server, action);
            changed = true;
            return next();
          }
          if (answer.status === 400 && error && error.code === "csrf_failed" && tokenRetries < 2) {
            tokenRetries += 1;
            return refreshToken().then(function (fresh) { return fresh ? next() : null; });
          }
          if (answer.status >= 500 || !error) return null; // server trouble: try again later
          // Refused for good (bad input, a finished tour, not this courier's tour): keep the message.
          queue.shift();
          failed.push({ id: action.id, kind: action.kind, stop: action.stop, at: action.body.at, message: error.message });
          save();
          message(error.message, "error");
          changed = true;
          return next();
        },
        function () { return null; } // no network: keep the queue
      );
    }

    return next()
      .then(function () { return changed && !queue.length ? reload() : null; })
      .then(function () {
        flushing = false;
        render();
      });
  }

  function reload() {
    return fetch(urls.data, { credentials: "same-origin", redirect: "manual", headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (fresh) { if (fresh && fresh.id === server.id) server = fresh; })
      .catch(function () { /* offline again: keep what we have */ });
  }

  // --- rendering ---------------------------------------------------------------------------------------

  function formFor(stopId) {
    if (!forms[stopId]) forms[stopId] = { selected: {}, receiver: "", pickups: 0, pad: null, skipOpen: false };
    return forms[stopId];
  }

  function render() {
    var st = current();
    var loading = document.getElementById("courier-loading");
    if (loading) loading.parentNode.removeChild(loading);
    var status = document.getElementById("tour-status");
    if (status) status.textContent = st.status_label;
    queueBadge();
    var pending = pendingFor(st);

    var sections = [["breakdown", st.status === "cancelled" && st.breakdown ? breakdownCard : null],
      ["start", st.status === "planned" ? startCard : null],
      ["finished", st.status === "finished" ? doneCard : null]];
    st.stops.forEach(function (stop) {
      sections.push(["stop-" + stop.id, function () { return stopCard(st, stop, pending[stop.id]); }, stop]);
    });
    sections.push(["end", st.status === "started" ? endCard : null]);
    sections.push(["failed", failed.length ? failedCard : null]);

    var firstOpen = null;
    st.stops.forEach(function (s) { if (!firstOpen && s.status === "open") firstOpen = s.id; });

    sections.forEach(function (entry) {
      var key = entry[0];
      var build = entry[1];
      var existing = root.querySelector('[data-card="' + key + '"]');
      var fingerprint = JSON.stringify([entry[2] || null, st.status, key === "failed" ? failed : null,
        key === "end" || key === "finished" || key === "breakdown" ? [st.end_reading, st.driven_km, countOpen(st)] : null,
        entry[2] ? [!!pending[entry[2].id], firstOpen === entry[2].id] : null]);
      if (!build) {
        if (existing) existing.parentNode.removeChild(existing);
        delete rendered[key];
        return;
      }
      if (existing && rendered[key] === fingerprint) {
        root.appendChild(existing); // keep order, keep what the courier is typing or drawing
        return;
      }
      var card = build(st);
      card.setAttribute("data-card", key);
      if (entry[2] && firstOpen === entry[2].id && st.status !== "planned") card.open = true;
      if (existing && existing.open && entry[2] && entry[2].status === "open") card.open = true;
      if (existing) root.replaceChild(card, existing);
      root.appendChild(card);
      rendered[key] = fingerprint;
    });
  }

  function countOpen(st) {
    return st.stops.filter(function (s) { return s.status === "open" && !s.is_depot; }).length;
  }

  function numberField(id, labelText, attrs) {
    var input = el("input", Object.assign({ id: id, name: id, type: "number", inputmode: "decimal", required: true }, attrs));
    return [el("label", { for: id, text: labelText }), input];
  }

  function readingForm(prefix, hintKm, onSubmit, buttonText) {
    var error = el("p", { className: "field-error", role: "alert" });
    var kmField = numberField(prefix + "-km", "Kilometerstand (km)", { min: "0", step: "0.1", placeholder: hintKm !== null && hintKm !== undefined ? kmText(hintKm) : "" });
    var socField = numberField(prefix + "-soc", "Ladezustand (%)", { min: "0", max: "100", step: "1", inputmode: "numeric" });
    var form = el("form", { className: "reading-form", novalidate: true }, kmField, socField, error,
      el("button", { type: "submit", className: "primary big", text: buttonText }));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var km = kmField[1].valueAsNumber;
      var soc = socField[1].valueAsNumber;
      if (isNaN(km) || km < 0) { error.textContent = "Bitte den Kilometerstand angeben."; kmField[1].focus(); return; }
      if (isNaN(soc) || soc < 0 || soc > 100 || Math.round(soc) !== soc) {
        error.textContent = "Bitte den Ladezustand als ganze Zahl von 0 bis 100 angeben."; socField[1].focus(); return;
      }
      var problem = onSubmit(km, soc);
      if (problem) error.textContent = problem;
    });
    return form;
  }

  function loadList(st) {
    // The load list at the depot: a tick per item (or scan each one); only ticked items are loaded.
    var items = [];
    var elsewhere = 0; // already loaded in another van (a breakdown): fetched from there, see the stop notes
    st.stops.forEach(function (s) {
      s.items.forEach(function (i) {
        if (i.status === "sorted") items.push({ item: i, stop: s });
        else if (i.status === "loaded") { elsewhere += 1; items.push({ item: i, stop: s, fetch: true }); }
      });
    });
    // Nothing counts as loaded until it is ticked or scanned: "loaded" is a real hand-over in the custody chain.
    var state = { ticked: {}, scanned: false };
    items.forEach(function (e) { state.ticked[e.item.id] = false; });
    var checks = {};
    var summary = el("p", { className: "muted", "data-testid": "load-summary" });
    function update() {
      var n = items.filter(function (e) { return state.ticked[e.item.id]; }).length;
      summary.textContent = n + " von " + items.length + " Sendungen verladen" +
        (n < items.length ? ": nicht angekreuzte bleiben in der Poststelle." : ".");
    }
    var list = el("ul", { className: "item-list load-list", "data-testid": "load-list" }, items.map(function (e) {
      var box = el("input", { type: "checkbox", id: "load-" + e.item.id, value: String(e.item.id) });
      box.checked = false;
      box.addEventListener("change", function () { state.ticked[e.item.id] = box.checked; box_.question.hidden = true; update(); });
      checks[e.item.id] = box;
      return el("li", { dataset: { code: e.item.code } },
        el("label", { className: "check", for: "load-" + e.item.id }, box, itemLabel(e.item),
          el("span", { className: "muted", text: " · Stopp " + e.stop.position + (e.fetch ? " · aus dem ausgefallenen Fahrzeug holen" : "") })));
    }));
    var scanInput = el("input", { type: "text", id: "load-scan", autocomplete: "off", autocapitalize: "characters",
      placeholder: "Code scannen oder eingeben", "aria-label": "Sendungscode beim Verladen" });
    var scanMsg = el("p", { className: "scan-msg", role: "status", "data-testid": "load-scan-msg" });
    function take(code) {
      var wanted = String(code || "").trim().toUpperCase();
      if (!wanted) return;
      var hit = items.filter(function (e) {
        return e.item.code.toUpperCase() === wanted || e.item.incoming_number.toUpperCase() === wanted;
      })[0];
      if (!hit) { scanMsg.textContent = "Sendung " + wanted + " ist nicht auf dieser Tour."; scanInput.value = ""; return; }
      if (!state.scanned) {
        // The first scan switches to scanning: from now on only scanned items are loaded.
        state.scanned = true;
        items.forEach(function (e) { state.ticked[e.item.id] = false; checks[e.item.id].checked = false; });
      }
      state.ticked[hit.item.id] = true;
      checks[hit.item.id].checked = true;
      scanMsg.textContent = "✓ " + hit.item.code + " verladen";
      scanInput.value = "";
      update();
    }
    scanInput.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); take(scanInput.value); } });
    update();
    var questionText = el("p", { "data-testid": "load-confirm-text" });
    var box_ = {};
    box_.question = el("div", { className: "left-confirm", "data-testid": "load-confirm", hidden: true }, questionText,
      el("button", { type: "button", className: "primary", "data-testid": "load-confirm-yes", text: "Trotzdem losfahren",
        onclick: function () { box_.question.hidden = true; if (box_.go) box_.go(); } }),
      el("button", { type: "button", "data-testid": "load-confirm-no", text: "Zurück",
        onclick: function () { box_.question.hidden = true; box_.go = null; } }));
    var tickAll = el("button", { type: "button", className: "small", "data-testid": "load-all", text: "Alle ankreuzen",
      onclick: function () {
        items.forEach(function (e) { state.ticked[e.item.id] = true; checks[e.item.id].checked = true; });
        box_.question.hidden = true;
        update();
      } });
    var box = el("div", { className: "load-check" },
      el("h3", { text: "Verladen" }),
      items.length ? el("p", { className: "muted", text: "Bitte nur ankreuzen, was im Fahrzeug ist – oder jede Sendung scannen (dann zählt nur Gescanntes)." }) : el("p", { className: "muted", text: "Keine Sendungen zu verladen." }),
      items.length ? el("div", { className: "scan-row" }, scanInput,
        el("button", { type: "button", text: "Übernehmen", onclick: function () { take(scanInput.value); } })) : null,
      items.length ? scanMsg : null, items.length ? list : null, items.length ? tickAll : null,
      items.length ? summary : null, box_.question,
      elsewhere ? el("p", { className: "flash flash-warning", "data-testid": "load-elsewhere",
        text: (elsewhere === 1 ? "1 Sendung ist" : elsewhere + " Sendungen sind") +
          " schon in einem anderen Fahrzeug: bitte dort abholen (siehe Hinweise an den Stopps)." }) : null);
    box.loadedIds = function () {
      return items.filter(function (e) { return state.ticked[e.item.id]; }).map(function (e) { return e.item.id; });
    };
    // Leaving items behind is allowed (a parcel that does not fit), but only after a question.
    box.confirmLeaving = function (go) {
      var left = items.filter(function (e) { return !state.ticked[e.item.id]; });
      if (!left.length) { go(); return; }
      questionText.textContent = (left.length === 1 ? "1 Sendung ist nicht angekreuzt und fährt" :
        left.length + " Sendungen sind nicht angekreuzt und fahren") + " nicht mit (" +
        left.slice(0, 5).map(function (e) { return e.item.code; }).join(", ") + (left.length > 5 ? ", …" : "") + ").";
      box_.go = go;
      box_.question.hidden = false;
      box_.question.scrollIntoView({ block: "center" });
    };
    return box;
  }

  function startCard(st) {
    var last = st.last_km;
    if (st.start_refusal) {
      return el("section", { className: "card courier-card", id: "start-card" },
        el("h2", { text: "Tour beginnen" }),
        el("p", { className: "flash flash-warning", "data-testid": "start-refused", text: st.start_refusal }));
    }
    var loading = loadList(st);
    return el("section", { className: "card courier-card", id: "start-card" },
      el("h2", { text: "Tour beginnen" }),
      el("p", { className: "muted", text: "Abfahrt geplant " + (st.planned_start || "–") + " · " + kmText(st.planned_km) + " km geplant" +
        (last !== null && last !== undefined ? " · letzter Kilometerstand " + kmText(last) + " km" : "") }),
      loading,
      readingForm("start", last, function (km, soc) {
        if (last !== null && last !== undefined && km < last) {
          return "Kilometerstand " + kmText(km) + " km ist kleiner als der letzte Stand " + kmText(last) + " km.";
        }
        loading.confirmLeaving(function () { enqueue("start", null, { km: km, soc: soc, loaded: loading.loadedIds() }); });
        return null;
      }, "Tour beginnen"));
  }

  function breakdownCard(st) {
    var b = st.breakdown;
    var takers = b.takers.map(function (t) { return t.vehicle + (t.driver ? " (" + t.driver + ")" : ""); }).join(", ");
    var fetchList = null;
    if (b.fetch.length) {
      // A whole day's mail can be in the van: the list folds, the count and the reading stay in view.
      fetchList = el("details", { className: "fetch-list", "data-testid": "breakdown-fetch", open: b.fetch.length <= 8 },
        el("summary", { text: (b.fetch.length === 1 ? "1 Sendung" : b.fetch.length + " Sendungen") +
          " im Fahrzeug lassen und übergeben, sie werden abgeholt" }),
        el("ul", { className: "item-list" }, b.fetch.map(function (f) {
          return el("li", { dataset: { code: f.code } }, el("strong", { className: "code", text: f.code }), " → " + f.vehicle + " · " + f.site);
        })));
    }
    return el("section", { className: "card courier-card", id: "breakdown-card", "data-testid": "breakdown-notice" },
      el("h2", { text: "Tour abgebrochen: Fahrzeugausfall" }),
      el("p", { text: takers ? "Die offenen Stopps fährt jetzt " + takers + "." : "Kein anderes Fahrzeug übernimmt die offenen Stopps; bitte die Poststelle anrufen." }),
      el("p", { className: "muted", text: "Fahrzeug sichern." }),
      st.started_at && !st.end_reading ? el("div", { "data-testid": "breakdown-reading" },
        el("h3", { text: "Kilometerstand am Ausfallort" }),
        readingForm("end", st.start_reading ? st.start_reading.km : st.last_km, function (km, soc) {
          var startKm = st.start_reading ? st.start_reading.km : null;
          if (startKm !== null && km < startKm) {
            return "Kilometerstand " + kmText(km) + " km ist kleiner als bei Tourbeginn (" + kmText(startKm) + " km).";
          }
          enqueue("end", null, { km: km, soc: soc });
          return null;
        }, "Kilometerstand speichern")) : null,
      st.end_reading ? el("p", { className: "muted", "data-testid": "breakdown-reading-done",
        text: "Kilometerstand " + kmText(st.end_reading.km) + " km erfasst" +
          (st.driven_km !== null && st.driven_km !== undefined ? " (" + kmText(st.driven_km) + " km gefahren)." : ".") }) : null,
      fetchList,
      b.back.length ? el("p", { text: b.back.length + " weitere Sendung(en) im Fahrzeug gehen zurück in die Poststelle." }) : null);
  }

  function endCard(st) {
    var startKm = st.start_reading ? st.start_reading.km : st.last_km;
    var open = countOpen(st);
    return el("section", { className: "card courier-card", id: "end-card" },
      el("h2", { text: "Tour beenden" }),
      open ? el("p", { className: "flash flash-warning", text: open + (open === 1 ? " Stopp ist" : " Stopps sind") +
        " noch offen: beim Beenden gelten sie als ausgelassen, ihre Sendungen gehen zurück ins Fach." }) : null,
      readingForm("end", startKm, function (km, soc) {
        if (startKm !== null && startKm !== undefined && km < startKm) {
          return "Kilometerstand " + kmText(km) + " km ist kleiner als der Stand bei Tourbeginn " + kmText(startKm) + " km.";
        }
        enqueue("end", null, { km: km, soc: soc });
        return null;
      }, "Tour beenden"));
  }

  function doneCard(st) {
    return el("section", { className: "card courier-card", id: "finished-card", "data-testid": "tour-finished" },
      el("h2", { text: "Tour beendet" }),
      el("p", { text: "Ende " + clock(st.finished_at) + (st.driven_km !== null && st.driven_km !== undefined ? " · gefahren " + kmText(st.driven_km) + " km" : "") }));
  }

  function failedCard() {
    return el("section", { className: "card courier-card failed-card", "data-testid": "failed-actions" },
      el("h2", { text: "Nicht übernommene Aktionen" }),
      el("ul", null, failed.map(function (f) { return el("li", { text: clock(f.at) + ": " + f.message }); })),
      el("button", { type: "button", text: "Liste leeren", onclick: function () { failed = []; save(); render(); } }));
  }

  function badge(text, cls) { return el("span", { className: "badge " + (cls || ""), text: text }); }

  function statusBadge(stop, pending) {
    if (stop.status === "done") return badge("Erledigt " + clock(stop.done_at) + (pending ? " · wartet" : ""), "ok");
    if (stop.status === "skipped") return badge("Ausgelassen" + (pending ? " · wartet" : ""), "skipped");
    return badge("Offen");
  }

  function itemLabel(item) {
    return [
      el("strong", { className: "code", text: item.code }), " ",
      el("span", { text: item.kind + (item.org_unit ? " · " + item.org_unit : "") + (item.room ? " · Raum " + item.room : "") }),
      item.registered ? badge("Einschreiben/PZU: Unterschrift", "registered") : null,
      item.confidential ? badge("vertraulich", "confidential") : null,
    ];
  }

  function stopCard(st, stop, pending) {
    var site = stop.site;
    var open = stop.status === "open";
    var items = stop.items;
    var card = el("details", { className: "card courier-stop stop-" + stop.status, id: "stop-" + stop.id, dataset: { stopId: String(stop.id), status: stop.status } },
      el("summary", null,
        el("span", { className: "stop-pos", text: String(stop.position) }),
        el("h2", { className: "stop-name", text: stop.is_depot ? "Depot: nachladen" : site.name }),
        el("span", { className: "stop-meta", text: (stop.eta ? stop.eta + " Uhr" : "") + (items.length ? " · " + items.length + " Sendg." : "") }),
        statusBadge(stop, pending),
        stop.note ? badge("Hinweis", "note") : null));  // e.g. a courier order: what to take where
    var body = el("div", { className: "stop-body" });
    card.appendChild(body);
    body.appendChild(el("p", { className: "stop-address", text: site.address }));
    var links = el("p", { className: "stop-links" },
      site.geo ? el("a", { className: "button", href: site.geo, "data-testid": "nav-link", text: "Navigation" }) : null,
      site.tel ? el("a", { className: "button", href: site.tel, "data-testid": "phone-link", text: "Anrufen " + site.phone }) : null);
    body.appendChild(links);
    var facts = [];
    if (site.opens) facts.push("geöffnet " + site.opens + "–" + site.closes);
    if (stop.pickup_boxes) facts.push(stop.pickup_boxes + " Abholung(en) erwartet");
    if (facts.length) body.appendChild(el("p", { className: "muted", text: facts.join(" · ") }));
    if (site.remarks) body.appendChild(el("p", { className: "remarks", text: site.remarks }));
    if (stop.note) body.appendChild(el("p", { className: "remarks", text: stop.note }));

    if (stop.status === "skipped") {
      body.appendChild(el("p", { className: "flash flash-warning", text: "Ausgelassen: " + stop.skip_reason }));
      return card;
    }
    if (stop.status === "done") {
      body.appendChild(el("p", { text: "Erledigt um " + clock(stop.done_at) + " · Abholungen: " + (stop.pickups_count || 0) }));
      if (items.length) {
        body.appendChild(el("ul", { className: "item-list" }, items.map(function (item) {
          return el("li", { dataset: { code: item.code } }, itemLabel(item), " ", badge(item.status_label, item.status === "delivered" ? "ok" : ""));
        })));
      }
      return card;
    }
    if (st.status !== "started") {
      body.appendChild(el("ul", { className: "item-list" }, items.map(function (item) {
        return el("li", null, itemLabel(item));
      })));
      if (st.status === "planned") body.appendChild(el("p", { className: "muted", text: "Zum Übergeben bitte zuerst die Tour beginnen." }));
      return card;
    }
    body.appendChild(handoverForm(stop));
    return card;
  }

  function handoverForm(stop) {
    var form = formFor(stop.id);
    var items = stop.items.filter(function (i) { return i.status !== "delivered"; });
    var hint = el("p", { className: "field-error handover-hint", role: "alert", "data-testid": "handover-hint" });
    var doneButton = el("button", { type: "button", className: "primary big", "data-testid": "stop-done", text: "Stopp erledigt" });
    var checks = {};
    var list = el("ul", { className: "item-list handover-list" }, items.map(function (item) {
      var box = el("input", { type: "checkbox", id: "item-" + item.id, value: String(item.id) });
      box.checked = !!form.selected[item.id];
      box.addEventListener("change", function () {
        if (box.checked) form.selected[item.id] = true; else delete form.selected[item.id];
        update();
      });
      checks[item.id] = box;
      return el("li", { dataset: { code: item.code, registered: item.registered ? "1" : "0" } },
        el("label", { className: "check", for: "item-" + item.id }, box, itemLabel(item)));
    }));

    var scanInput = el("input", { type: "text", id: "scan-" + stop.id, autocomplete: "off", autocapitalize: "characters",
      placeholder: "Code scannen oder eingeben", "aria-label": "Sendungscode" });
    var scanMsg = el("p", { className: "scan-msg", role: "status" });
    function take(code) {
      var wanted = String(code || "").trim().toUpperCase();
      if (!wanted) return;
      var hit = items.filter(function (i) { return i.code.toUpperCase() === wanted || i.incoming_number.toUpperCase() === wanted; })[0];
      if (hit) {
        form.selected[hit.id] = true;
        checks[hit.id].checked = true;
        scanMsg.textContent = "✓ " + hit.code;
        if (navigator.vibrate) navigator.vibrate(60);
        update();
      } else {
        var elsewhere = current().stops.filter(function (s) {
          return s.id !== stop.id && s.items.some(function (i) { return i.code.toUpperCase() === wanted; });
        })[0];
        scanMsg.textContent = elsewhere ? "Sendung " + wanted + " gehört zu Stopp " + elsewhere.position + " (" + elsewhere.site.name + ")."
          : "Sendung " + wanted + " ist nicht auf dieser Tour.";
      }
      scanInput.value = "";
    }
    scanInput.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); take(scanInput.value); } });
    var scanRow = el("div", { className: "scan-row" }, scanInput,
      el("button", { type: "button", text: "Übernehmen", onclick: function () { take(scanInput.value); } }),
      hasDetector ? el("button", { type: "button", text: "Kamera", onclick: function () { camera(scanRow, take); } }) : null);

    var receiver = el("input", { type: "text", id: "receiver-" + stop.id, maxlength: "200", autocomplete: "off", value: form.receiver });
    receiver.addEventListener("input", function () { form.receiver = receiver.value; update(); });
    var canvas = el("canvas", { className: "signature", id: "signature-" + stop.id, "aria-label": "Unterschrift" });
    var pickups = el("input", { type: "number", id: "pickups-" + stop.id, min: "0", max: "999", step: "1", inputmode: "numeric", value: String(form.pickups) });
    pickups.addEventListener("input", function () { form.pickups = pickups.valueAsNumber || 0; });
    function bump(delta) {
      form.pickups = Math.max(0, Math.min(999, (pickups.valueAsNumber || 0) + delta));
      pickups.value = String(form.pickups);
    }

    function needsSignature() {
      return items.some(function (i) { return form.selected[i.id] && i.registered; });
    }
    function update() {
      var selected = items.filter(function (i) { return form.selected[i.id]; });
      var problems = [];
      if (needsSignature()) {
        if (!form.receiver.trim()) problems.push("Name des Empfängers");
        if (!form.pad || form.pad.isEmpty()) problems.push("Unterschrift");
      }
      doneButton.disabled = problems.length > 0;
      if (leftPanel) leftPanel.hidden = true; // the question is asked again for the new selection
      var left = items.length - selected.length;
      if (problems.length) hint.textContent = "Für Einschreiben/PZU fehlt: " + problems.join(" und ") + ".";
      else if (left > 0 && selected.length) hint.textContent = left + " Sendung(en) nicht angekreuzt: sie bleiben im Fahrzeug.";
      else hint.textContent = "";
    }

    function finish() {
      var ids = items.filter(function (i) { return form.selected[i.id]; }).map(function (i) { return i.id; });
      var fields = { items: ids, receiver_name: form.receiver.trim(), pickups: form.pickups };
      if (ids.length && form.pad && !form.pad.isEmpty()) fields.signature = form.pad.toDataURL();
      delete forms[stop.id];
      enqueue("stop_done", stop.id, fields);
    }
    // Items not ticked: ask first (they stay in the van and go back to the mail room at the end).
    var leftText = el("p", { className: "flash flash-warning", role: "alert" });
    var leftPanel = el("div", { className: "left-confirm", "data-testid": "left-confirm", hidden: true }, leftText,
      el("button", { type: "button", className: "primary", "data-testid": "left-confirm-yes", text: "Trotzdem abschließen", onclick: finish }),
      el("button", { type: "button", "data-testid": "left-confirm-no", text: "Zurück", onclick: function () { leftPanel.hidden = true; } }));
    doneButton.addEventListener("click", function () {
      update();
      if (doneButton.disabled) return;
      var left = items.filter(function (i) { return !form.selected[i.id]; });
      if (left.length) {
        leftText.textContent = (left.length === 1 ? "1 Sendung ist" : left.length + " Sendungen sind") +
          " nicht angekreuzt (" + left.map(function (i) { return i.code; }).join(", ") +
          "): sie bleiben im Fahrzeug. Stopp trotzdem abschließen?";
        leftPanel.hidden = false;
        hint.textContent = "";
        return;
      }
      finish();
    });

    var reason = el("select", { id: "reason-" + stop.id, "aria-label": "Grund" },
      server.skip_reasons.map(function (r) { return el("option", { value: r, text: r }); }),
      el("option", { value: "", text: "Anderer Grund …" }));
    var other = el("input", { type: "text", id: "reason-text-" + stop.id, maxlength: "200", placeholder: "Grund", "aria-label": "Anderer Grund" });
    var skipError = el("p", { className: "field-error", role: "alert" });
    var skipPanel = el("div", { className: "skip-panel", hidden: !form.skipOpen },
      el("label", { for: "reason-" + stop.id, text: "Grund" }), reason, other, skipError,
      el("button", { type: "button", className: "danger", "data-testid": "skip-confirm", text: "Stopp auslassen", onclick: function () {
        var text = (reason.value || other.value).trim();
        if (reason.value && other.value.trim()) text = reason.value + ": " + other.value.trim();
        if (!text) { skipError.textContent = "Bitte einen Grund angeben."; return; }
        delete forms[stop.id];
        enqueue("skip", stop.id, { reason: text });
      } }));

    var wrap = el("div", { className: "handover" },
      items.length ? el("h3", { text: "Sendungen übergeben" }) : el("p", { className: "muted", text: "Keine Sendungen für diesen Stopp." }),
      items.length ? scanRow : null, items.length ? scanMsg : null, list,
      items.length ? el("button", { type: "button", className: "small", text: "Alle ankreuzen", onclick: function () {
        items.forEach(function (i) { form.selected[i.id] = true; checks[i.id].checked = true; });
        update();
      } }) : null,
      items.length ? el("label", { for: "receiver-" + stop.id, text: "Name des Empfängers" }) : null,
      items.length ? receiver : null,
      items.length ? el("label", { for: "signature-" + stop.id, text: "Unterschrift" + (items.some(function (i) { return i.registered; }) ? " (Pflicht für Einschreiben/PZU)" : "") }) : null,
      items.length ? canvas : null,
      items.length ? el("button", { type: "button", className: "small", text: "Unterschrift löschen", onclick: function () { if (form.pad) form.pad.clear(); } }) : null,
      el("label", { for: "pickups-" + stop.id, text: "Abgeholt (Stück)" }),
      el("div", { className: "stepper" },
        el("button", { type: "button", "aria-label": "weniger", text: "−", onclick: function () { bump(-1); } }),
        pickups,
        el("button", { type: "button", "aria-label": "mehr", text: "+", onclick: function () { bump(1); } })),
      hint,
      leftPanel,
      el("div", { className: "stop-actions" }, doneButton,
        el("button", { type: "button", "data-testid": "skip-open", text: "Auslassen …", onclick: function () {
          form.skipOpen = !form.skipOpen;
          skipPanel.hidden = !form.skipOpen;
        } })),
      skipPanel);
    wrap._afterInsert = function () {
      if (items.length && (!form.pad || form.pad.canvas !== canvas)) {
        form.pad = new window.SignaturePad(canvas);
        form.pad.onchange = update;
      }
      update();
    };
    return wrap;
  }

  // Attach the signature pad once the card is in the document (it needs the canvas' size).
  var observer = new MutationObserver(function (records) {
    records.forEach(function (r) {
      r.addedNodes.forEach(function (node) {
        if (node.querySelectorAll) {
          node.querySelectorAll(".handover").forEach(function (h) { if (h._afterInsert && !h._done) { h._done = true; h._afterInsert(); } });
        }
      });
    });
  });
  observer.observe(root, { childList: true, subtree: true });
  // A closed <details> has no size: size the pad when the stop is opened.
  root.addEventListener("toggle", function (e) {
    var details = e.target;
    if (!details.open || !details.querySelector) return;
    var form = forms[Number(details.dataset.stopId)];
    if (form && form.pad && form.pad.isEmpty()) form.pad._resize();
  }, true);

  // --- camera scanning where the browser has a BarcodeDetector ---------------------------------------------

  function camera(container, onCode) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      message("Die Kamera ist hier nicht verfügbar: bitte den Code eintippen.", "warning");
      return;
    }
    var detector = new window.BarcodeDetector({ formats: ["code_128", "qr_code", "itf", "ean_13", "data_matrix"] });
    var video = el("video", { className: "scanner-video", playsinline: true, muted: true });
    var close = el("button", { type: "button", text: "Kamera schließen" });
    var box = el("div", { className: "scanner" }, video, close);
    container.appendChild(box);
    var stream = null;
    var active = true;
    function stop() {
      active = false;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      if (box.parentNode) box.parentNode.removeChild(box);
    }
    close.addEventListener("click", stop);
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      return video.play();
    }).then(function loop() {
      if (!active) return;
      detector.detect(video).then(function (codes) {
        if (codes.length) { onCode(codes[0].rawValue); stop(); return; }
        setTimeout(loop, 250);
      }).catch(function () { setTimeout(loop, 500); });
    }).catch(function () {
      stop();
      message("Kein Zugriff auf die Kamera: bitte den Code eintippen.", "warning");
    });
  }

  // --- start ----------------------------------------------------------------------------------------

  window.addEventListener("online", function () { queueBadge(); flush(); });
  window.addEventListener("offline", queueBadge);
  setInterval(function () { if (queue.length) flush(); }, RETRY_MS);
  render();
  flush();

  if ("serviceWorker" in navigator && urls.worker) {
    navigator.serviceWorker.register(urls.worker, { scope: urls.scope }).catch(function () { /* optional */ });
  }

  window.mailroomCourier = {
    queue: function () { return queue.slice(); },
    idle: function () { return !flushing && queue.length === 0; },
    flush: flush,
  };
})();
