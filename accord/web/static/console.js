// Small behaviours of every console page, without inline handlers (the pages' security
// policy runs no inline script): a field marked data-autosubmit submits its form when it
// changes (the workspace switcher, the inbox filters).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field instanceof Element && field.matches("[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});
