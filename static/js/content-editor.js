// In a code section's editor (a textarea marked data-tab-inserts), Tab inserts a tab instead of
// leaving the field, as authors of Go and SQL expect. Escape hands Tab back to the browser for
// the next key press, so keyboard users can still move on. The input event it fires refreshes
// the live preview like typing does.
(function () {
  "use strict";

  let released = null;

  document.addEventListener("keydown", function (event) {
    const field = event.target;
    if (!(field instanceof HTMLTextAreaElement) || !field.hasAttribute("data-tab-inserts")) {
      return;
    }
    if (event.key === "Escape") {
      released = field;
      return;
    }
    if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) {
      released = null;
      return;
    }
    if (released === field) {
      released = null;
      return;
    }
    event.preventDefault();
    field.setRangeText("\t", field.selectionStart, field.selectionEnd, "end");
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
