// With strict separation of duties a tick bars a signoff lead from signing its phase off. A
// checklist that carries data-signing-bar (the server decides when) asks before the first tick,
// once for the page, and then sends acknowledged_signing_bar with every tick. Without this
// script the server answers such a tick with a confirmation page instead.
(function () {
  "use strict";

  let acknowledged = false;

  function barringChecklist(element) {
    return element instanceof Element ? element.closest("[data-signing-bar]") : null;
  }

  document.addEventListener("htmx:confirm", function (event) {
    const form = event.detail.elt;
    const checklist = barringChecklist(form);
    if (acknowledged || !checklist || !form.matches("form.checklist-item")) {
      return;
    }
    const box = form.querySelector("input[type=checkbox]");
    // Unticking never bars anyone, so it never asks.
    if (!box || !box.checked) {
      return;
    }
    event.preventDefault();
    if (window.confirm(checklist.dataset.signingBar)) {
      acknowledged = true;
      event.detail.issueRequest(true);
    } else {
      box.checked = false;
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    if (acknowledged && barringChecklist(event.detail.elt)) {
      event.detail.parameters.acknowledged_signing_bar = "1";
    }
  });
})();
