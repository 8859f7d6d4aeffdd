/* Daily dispatch page: progress of a running plan, and the map of the tours.
   Leaflet (shipped in static/vendor) draws on map tiles when MAP_TILE_URL is configured and the tiles
   load; otherwise a plain SVG drawing of the stops and the tour lines is shown. No dependencies. */
(function () {
  "use strict";

  // --- planning progress ----------------------------------------------------------------------
  var box = document.getElementById("plan-progress");
  var form = document.getElementById("plan-form");
  var button = document.getElementById("plan-button");

  if (form && button) {
    form.addEventListener("submit", function () {
      // The server answers at once (the solve runs in the background); just show that it started.
      button.disabled = true;
      button.textContent = "Planung wird gestartet …";
    });
  }

  function poll(url) {
    var bar = document.getElementById("plan-progress-bar");
    var message = document.getElementById("plan-message");
    var failures = 0;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (data) {
          failures = 0;
          bar.value = data.progress;
          message.textContent = data.message;
          box.dataset.state = data.status;
          if (data.status === "running") {
            window.setTimeout(tick, 500);
          } else if (data.status === "done") {
            message.textContent = data.message + " – Touren werden geladen …";
            window.location.assign(data.day_url + "#tours");
          } else {
            box.classList.add("failed");
            message.textContent = "Planung fehlgeschlagen: " + data.message;
            if (button) { button.disabled = false; }
          }
        })
        .catch(function () {
          failures += 1;
          message.textContent = "Verbindung unterbrochen, versuche es erneut …";
          window.setTimeout(tick, Math.min(5000, 500 * (failures + 1)));
        });
    }
    tick();
  }

  if (box && box.dataset.statusUrl) {
    box.hidden = false;
    poll(box.dataset.statusUrl);
  }

  // --- the map --------------------------------------------------------------------------------
  var mapEl = document.getElementById("tour-map");
  var dataEl = document.getElementById("tour-data");
  if (!mapEl || !dataEl) { return; }
  var data;
  try { data = JSON.parse(dataEl.textContent); } catch (e) { return; }

  function tourPoints(tour) {
    var pts = [];
    if (data.depot) { pts.push(data.depot); }
    tour.stops.forEach(function (s) { pts.push(s); });
    if (data.depot) { pts.push(data.depot); }
    return pts;
  }

  function svgEl(name, attrs, text) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function drawSvg(note) {
    mapEl.innerHTML = "";
    mapEl.className = "tour-map svg-map";
    mapEl.dataset.mode = "svg";
    var all = [];
    if (data.depot) { all.push(data.depot); }
    data.sites.forEach(function (s) { all.push(s); });
    data.tours.forEach(function (t) { t.stops.forEach(function (s) { all.push(s); }); });
    if (!all.length) { mapEl.textContent = "Keine Koordinaten vorhanden."; return; }
    var minLat = Infinity, maxLat = -Infinity, minLon = Infinity, maxLon = -Infinity;
    all.forEach(function (p) {
      minLat = Math.min(minLat, p.lat); maxLat = Math.max(maxLat, p.lat);
      minLon = Math.min(minLon, p.lon); maxLon = Math.max(maxLon, p.lon);
    });
    var kx = Math.cos((minLat + maxLat) / 2 * Math.PI / 180);  // equirectangular: shrink longitudes
    var w = 800, h = 520, pad = 30;
    var spanX = Math.max((maxLon - minLon) * kx, 1e-4), spanY = Math.max(maxLat - minLat, 1e-4);
    var scale = Math.min((w - 2 * pad) / spanX, (h - 2 * pad) / spanY);
    function xy(p) {
      return [pad + (p.lon - minLon) * kx * scale, h - pad - (p.lat - minLat) * scale];
    }
    var svg = svgEl("svg", { viewBox: "0 0 " + w + " " + h, width: "100%", "data-testid": "svg-map",
                             role: "img", "aria-label": "Schematische Karte der Touren" });
    svg.appendChild(svgEl("rect", { x: 0, y: 0, width: w, height: h, fill: "#f4f6f8" }));
    data.tours.forEach(function (t) {
      var pts = tourPoints(t).map(function (p) { return xy(p).join(","); }).join(" ");
      svg.appendChild(svgEl("polyline", { points: pts, fill: "none", stroke: t.color, "stroke-width": 2.5,
                                          "stroke-linejoin": "round", opacity: 0.85 }));
    });
    var served = {};
    data.tours.forEach(function (t) {
      var n = 0;
      t.stops.forEach(function (s) {
        if (s.depot) { return; }
        n += 1;
        served[s.code] = true;
        var c = xy(s);
        var g = svgEl("g", {});
        g.appendChild(svgEl("title", {}, t.vehicle + " " + n + ": " + s.code + " – " + s.name));
        g.appendChild(svgEl("circle", { cx: c[0], cy: c[1], r: 9, fill: s.done ? "#cdebd6" : "#fff",
                                        stroke: t.color, "stroke-width": 2 }));
        g.appendChild(svgEl("text", { x: c[0], y: c[1] + 3.5, "text-anchor": "middle", "font-size": 9,
                                      fill: "#1d2733" }, String(n)));
        svg.appendChild(g);
      });
    });
    data.sites.forEach(function (s) {
      if (served[s.code]) { return; }
      var c = xy(s);
      var g = svgEl("g", {});
      g.appendChild(svgEl("title", {}, s.code + " – " + s.name + " (nicht eingeplant)"));
      g.appendChild(svgEl("circle", { cx: c[0], cy: c[1], r: 6, fill: "#b3261e" }));
      svg.appendChild(g);
    });
    if (data.depot) {
      var d = xy(data.depot);
      svg.appendChild(svgEl("rect", { x: d[0] - 8, y: d[1] - 8, width: 16, height: 16, fill: "#12324f" }));
      svg.appendChild(svgEl("text", { x: d[0] + 12, y: d[1] + 4, "font-size": 12, fill: "#12324f" }, "Poststelle"));
    }
    var ly = 18;
    data.tours.forEach(function (t) {
      svg.appendChild(svgEl("line", { x1: 10, y1: ly, x2: 34, y2: ly, stroke: t.color, "stroke-width": 3 }));
      svg.appendChild(svgEl("text", { x: 40, y: ly + 4, "font-size": 12 }, "Tour " + t.vehicle));
      ly += 18;
    });
    mapEl.appendChild(svg);
    if (note) {
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = note;
      mapEl.appendChild(p);
    }
  }

  function drawLeaflet() {
    var L = window.L;
    var map = L.map(mapEl, { scrollWheelZoom: false });
    mapEl.dataset.mode = "leaflet";
    var loaded = 0, failed = 0, done = false;
    var layer = L.tileLayer(data.tile_url, {
      maxZoom: 19,
      attribution: "Kartendaten © OpenStreetMap-Mitwirkende",
    });
    layer.on("tileload", function () { loaded += 1; });
    layer.on("tileerror", function () { failed += 1; });
    layer.addTo(map);
    // Leaflet sets a string tooltip as HTML; site names are data, so they go in as text.
    function textTooltip(text) {
      var span = document.createElement("span");
      span.textContent = text;
      return span;
    }
    var bounds = [];
    data.tours.forEach(function (t) {
      var latlngs = tourPoints(t).map(function (p) { return [p.lat, p.lon]; });
      L.polyline(latlngs, { color: t.color, weight: 4, opacity: 0.8 }).addTo(map);
      var n = 0;
      t.stops.forEach(function (s) {
        if (s.depot) { return; }
        n += 1;
        bounds.push([s.lat, s.lon]);
        L.circleMarker([s.lat, s.lon], { radius: 7, color: t.color, fillColor: s.done ? "#cdebd6" : "#fff",
                                         fillOpacity: 1, weight: 2 })
          .bindTooltip(textTooltip(t.vehicle + " " + n + ": " + s.code + " – " + s.name)).addTo(map);
      });
    });
    if (data.depot) {
      bounds.push([data.depot.lat, data.depot.lon]);
      L.circleMarker([data.depot.lat, data.depot.lon], { radius: 9, color: "#12324f", fillColor: "#12324f",
                                                         fillOpacity: 1 }).bindTooltip(textTooltip("Poststelle")).addTo(map);
    }
    data.sites.forEach(function (s) { bounds.push([s.lat, s.lon]); });
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([53.14, 8.21], 12); }
    // Tiles that cannot load (offline, blocked, wrong URL): fall back to the plain drawing.
    window.setTimeout(function () {
      if (done) { return; }
      done = true;
      if (loaded === 0) {
        map.remove();
        drawSvg("Kartenkacheln konnten nicht geladen werden – vereinfachte Darstellung.");
      }
    }, failed ? 1500 : 6000);
    layer.on("tileerror", function () {
      if (!done && loaded === 0 && failed >= 4) {
        done = true;
        map.remove();
        drawSvg("Kartenkacheln konnten nicht geladen werden – vereinfachte Darstellung.");
      }
    });
  }

  if (data.tile_url && window.L) {
    try { drawLeaflet(); } catch (e) { drawSvg(); }
  } else {
    drawSvg();
  }
})();
