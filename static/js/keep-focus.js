// htmx puts focus back on a swapped control only when that control still has focus at swap
// time, but hx-disabled-elt disables it while the request runs, and a disabled control loses
// focus to the page body. So the id of the focused control is noted before the request and,
// once the new content has settled, the control with that id gets focus again, unless the
// person has moved focus elsewhere in the meantime.
(function () {
  "use strict";

  let focusedId = "";

  document.addEventListener("htmx:beforeRequest", function () {
    const focused = document.activeElement;
    focusedId = focused && focused !== document.body && focused.id ? focused.id : "";
  });

  document.addEventListener("htmx:afterSettle", function () {
    const lost = !document.activeElement || document.activeElement === document.body;
    const control = focusedId ? document.getElementById(focusedId) : null;
    focusedId = "";
    if (lost && control) {
      control.focus({ preventScroll: true });
    }
  });
})();
