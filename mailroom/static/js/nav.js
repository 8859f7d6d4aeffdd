// Phone menu: on narrow screens the main navigation folds behind the "Menü" button (a real button, so
// keyboard and screen reader users reach it and the logout behind it). Without JavaScript the menu stays open.
(function () {
  "use strict";
  var button = document.querySelector(".topbar .nav-toggle");
  var nav = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) return;
  var topbar = button.closest(".topbar");

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }

  topbar.classList.add("nav-collapsible");
  setOpen(false);
  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  nav.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
})();
