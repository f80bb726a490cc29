// Small behaviours of every console page, without inline handlers (the pages' security
// policy runs no inline script): a field marked data-autosubmit submits its form when it
// changes (the workspace switcher, the inbox filters).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field instanceof Element && field.matches("[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});

// On a phone-width screen the sidebar folds into a bar with a menu button that opens and
// closes it; it closes again when a page is opened.
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element && event.target.closest(".menu-button");
  if (!button) return;
  var open = document.body.classList.toggle("nav-open");
  button.setAttribute("aria-expanded", open ? "true" : "false");
});
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail && event.detail.boosted) document.body.classList.remove("nav-open");
});

// A page that must not be reached again by reloading its URL (the answer to a form that
// shows a new secret once) names the address to show instead: data-replace-url.
function replaceUrls() {
  document.querySelectorAll("[data-replace-url]").forEach(function (marker) {
    history.replaceState(null, "", marker.getAttribute("data-replace-url"));
    marker.removeAttribute("data-replace-url");
  });
}
document.addEventListener("DOMContentLoaded", replaceUrls);
document.addEventListener("htmx:afterSettle", replaceUrls);

// A button marked data-copy="#field" copies that field's text (the preference center
// link on the Customer 360); where the clipboard is not offered, the text is selected.
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element && event.target.closest("[data-copy]");
  if (!button) return;
  var field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  field.select();
  var done = function () { button.textContent = "Copied"; };
  var legacy = function () {
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, legacy);
  } else {
    legacy();
  }
});

// Knowledge editor: an article's image or file goes into the text where the cursor is.
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element && event.target.closest(".kb-insert-file");
  var area = document.getElementById("kb-body");
  if (!button || !area) return;
  var piece = button.getAttribute("data-markdown");
  var at = area.selectionStart != null ? area.selectionStart : area.value.length;
  var before = area.value.slice(0, at), after = area.value.slice(at);
  var glue = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
  area.value = before + glue + piece + "\n\n" + after.replace(/^\n+/, "");
  area.focus();
  area.selectionStart = area.selectionEnd = (before + glue + piece).length;
  area.dispatchEvent(new Event("input", { bubbles: true }));  // the preview follows
});

// A submit button marked data-confirm="question" asks first, and does nothing unless the
// answer is yes (hx-confirm asks on a whole form; one form may hold several actions, such
// as a campaign's save and launch).
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element && event.target.closest("button[data-confirm]");
  if (!button) return;
  if (!window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
    event.stopPropagation();
  }
}, true);
