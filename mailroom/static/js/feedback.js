// Shared by the scan station and the sorting page: audible feedback and JSON requests with the CSRF token.
// window.MailroomFeedback = { beep(level), postJson(url, body) }; level is "ok", "info" (nothing changed, not
// an error), "warn" or "error".
(function () {
  "use strict";
  var audio = null;

  // a short high beep for ok, two low beeps for a warning, a long low one for errors
  function tone(freq, start, duration) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.08, audio.currentTime + start);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + start + duration);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(audio.currentTime + start);
    osc.stop(audio.currentTime + start + duration + 0.02);
  }

  function beep(level) {
    try {
      if (!audio) {
        var Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) return;
        audio = new Ctx();
      }
      if (audio.state === "suspended") audio.resume();
      if (level === "ok" || level === "info") tone(1320, 0, 0.08);
      else if (level === "warn") { tone(660, 0, 0.12); tone(660, 0.18, 0.12); }
      else tone(220, 0, 0.45);
    } catch (e) { /* no sound available: the colours still tell */ }
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.redirected || type.indexOf("application/json") === -1) {
        throw new Error("Sitzung abgelaufen oder Server nicht erreichbar: bitte die Seite neu laden und anmelden.");
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var message = data && data.error ? data.error.message : "Fehler " + response.status + ": bitte erneut versuchen.";
          throw new Error(message);
        }
        return data;
      });
    });
  }

  window.MailroomFeedback = { beep: beep, postJson: postJson };
})();
