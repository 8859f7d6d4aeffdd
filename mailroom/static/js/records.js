// Label sheet page: "select all" checkbox for the item list. No dependencies.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) return;
  var boxes = function () { return document.querySelectorAll('input[name="item_id"]'); };
  var sync = function () {
    var list = boxes(), checked = 0;
    for (var i = 0; i < list.length; i++) if (list[i].checked) checked++;
    all.checked = checked === list.length && list.length > 0;
    all.indeterminate = checked > 0 && checked < list.length;
  };
  all.addEventListener("change", function () {
    var list = boxes();
    for (var i = 0; i < list.length; i++) list[i].checked = all.checked;
  });
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "item_id") sync();
  });
  sync();
})();
