// Registers the courier pages' service worker, so that a tour page opened once also opens without network.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!("serviceWorker" in navigator) || !script) return;
  navigator.serviceWorker.register(script.dataset.sw, { scope: script.dataset.scope }).catch(function () {
    // not available (e.g. private mode): the page still works while it stays open
  });
})();
