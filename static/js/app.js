// The little the pages need from JavaScript; everything works without it, only less comfortably.
// No inline scripts anywhere (Content-Security-Policy friendly): behaviour hangs on data attributes.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    // Phones: the main menu collapses behind a "Menu" button.
    var toggle = document.querySelector(".menu-toggle");
    var nav = document.getElementById("mainnav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        nav.classList.toggle("open", open);
      });
    }
  });

  // <form data-confirm="Cancel this order?">: ask before submitting something that cannot be undone.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
