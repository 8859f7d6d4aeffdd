/* Site form: pick the coordinates on a Leaflet map (tiles from the configured MAP_TILE_URL).
   A click or dragging the marker writes lat/lon into the form; typing moves the marker. */
(function () {
  "use strict";
  var el = document.getElementById("site-map");
  if (!el || !window.L || !el.dataset.tileUrl) { return; }
  var latInput = document.getElementById("lat");
  var lonInput = document.getElementById("lon");
  el.hidden = false;

  function read(input) {
    var v = parseFloat((input.value || "").replace(",", "."));
    return isNaN(v) ? null : v;
  }
  var lat = read(latInput), lon = read(lonInput);
  var depotLat = parseFloat(el.dataset.depotLat), depotLon = parseFloat(el.dataset.depotLon);
  var start = lat !== null && lon !== null ? [lat, lon]
    : (!isNaN(depotLat) && !isNaN(depotLon) ? [depotLat, depotLon] : [51.16, 10.45]);
  var map = L.map(el, { scrollWheelZoom: false }).setView(start, lat !== null || !isNaN(depotLat) ? 15 : 6);
  L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: "Kartendaten © OpenStreetMap-Mitwirkende" }).addTo(map);
  var marker = null;

  function place(latlng, write) {
    if (!marker) {
      marker = L.marker(latlng, { draggable: true }).addTo(map);
      marker.on("dragend", function () { place(marker.getLatLng(), true); });
    } else {
      marker.setLatLng(latlng);
    }
    if (write) {
      latInput.value = latlng.lat.toFixed(6);
      lonInput.value = latlng.lng.toFixed(6);
    }
  }
  if (lat !== null && lon !== null) { place(L.latLng(lat, lon), false); }
  map.on("click", function (event) { place(event.latlng, true); });
  function typed() {
    var a = read(latInput), b = read(lonInput);
    if (a !== null && b !== null && Math.abs(a) <= 90 && Math.abs(b) <= 180) {
      place(L.latLng(a, b), false);
      map.panTo([a, b]);
    }
  }
  latInput.addEventListener("change", typed);
  lonInput.addEventListener("change", typed);
}());
