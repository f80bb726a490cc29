// Social: small behaviours of its pages, without inline handlers.
// - Settings > Social: the add-a-source form shows only the fields of the kind chosen
//   (without this script every kind's fields show, and the server reads the chosen one's).
// - A social conversation's composer: the "Send as a direct message" box and the count of
//   characters against the network's limit show only while the reply goes by "social"; a
//   reply longer than the limit is held back, as the server would refuse it.
(function () {
  "use strict";
  if (window.accordSocial) return;
  window.accordSocial = true;

  function showKind() {
    var select = document.getElementById("source-kind");
    if (!select) return;
    document.querySelectorAll(".sx-kind-fields[data-kind]").forEach(function (box) {
      var on = box.getAttribute("data-kind") === select.value;
      box.hidden = !on;
      box.querySelectorAll("input, select, textarea").forEach(function (field) {
        field.disabled = !on;
      });
    });
  }

  function composer() {
    var channel = document.getElementById("reply-channel");
    var options = document.getElementById("social-reply-options");
    var area = document.getElementById("reply-body");
    var out = document.getElementById("social-reply-count");
    if (!channel || !options || !area || !out) return;
    var reply = document.querySelector("#reply-form input[name=kind][value=reply]");
    var social = channel.value === "social" && (!reply || reply.checked);
    options.hidden = !social;
    out.hidden = !social;
    var box = document.getElementById("reply-private");
    if (box) box.disabled = !social;
    var limit = parseInt(out.getAttribute("data-limit") || "0", 10);
    var length = Array.from(area.value.trim()).length;
    var over = social && limit > 0 && length > limit;
    out.textContent = length.toLocaleString("en-US") +
      (limit > 0 ? " / " + limit.toLocaleString("en-US") + " characters" : " characters") +
      (over ? " · too long for " + (out.getAttribute("data-network") || "the network") : "");
    out.classList.toggle("over", over);
    // Only this script's own refusal is set or lifted (sms.js refuses long texts).
    if (over) {
      area.setCustomValidity("A reply on " + (out.getAttribute("data-network") || "the network") +
        " holds at most " + limit.toLocaleString("en-US") + " characters (" +
        length.toLocaleString("en-US") + " written)");
      area.setAttribute("data-social-over", "");
    } else if (area.hasAttribute("data-social-over")) {
      area.setCustomValidity("");
      area.removeAttribute("data-social-over");
    }
  }

  function all() { showKind(); composer(); }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.id === "source-kind") showKind();
    if (target.closest("#reply-form")) composer();
  });
  document.addEventListener("input", function (event) {
    if (event.target instanceof Element && event.target.id === "reply-body") composer();
  });
  document.addEventListener("DOMContentLoaded", all);
  document.addEventListener("htmx:afterSettle", all);
  if (document.readyState !== "loading") all();
})();
