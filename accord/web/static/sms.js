// The count of characters and SMS under a text being written. A textarea marked
// data-sms-count="ID" is counted into the element with that id; that element's
// data-sms-if (a selector) says when the text is a text message at all (the reply's
// channel, the campaign's), and data-sms-refuse keeps a form from sending more than the
// most a text holds. Segments are counted as accord.channels.sms.segments counts them.
(function () {
  "use strict";
  if (window.accordSms) return;
  window.accordSms = true;

  var GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ" +
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";
  var MAX = 1600;

  // 160 characters of the GSM alphabet a message (its extension characters count twice,
  // 153 a part when split), else 70 UTF-16 code units (67 a part).
  function segments(body) {
    var n = 0, gsm = true;
    Array.from(body).some(function (c) {
      if (EXTENDED.indexOf(c) >= 0) n += 2;
      else if (GSM.indexOf(c) >= 0) n += 1;
      else gsm = false;
      return !gsm;
    });
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    if (!gsm) n = body.length;
    return { count: n <= single ? 1 : Math.ceil(n / part), gsm: gsm };
  }

  function count(area) {
    var out = document.getElementById(area.getAttribute("data-sms-count"));
    if (!out) return;
    var when = out.getAttribute("data-sms-if");
    var active = !when || document.querySelector(when) !== null;
    out.hidden = !active;
    var body = area.value.trim();
    var length = Array.from(body).length;  // characters, as the server counts them
    var over = active && length > MAX;
    var s = segments(body);
    out.textContent = length.toLocaleString("en-US") + " / " + MAX.toLocaleString("en-US") +
      " characters · " + s.count + " SMS" + (s.gsm ? "" : " (Unicode: 70 characters an SMS)") +
      (over ? " · too long for a text message" : "");
    out.classList.toggle("sms-over", over);
    out.setAttribute("data-segments", String(s.count));
    if (out.hasAttribute("data-sms-refuse")) {
      area.setCustomValidity(over ? "A text message holds at most " + MAX.toLocaleString("en-US") +
        " characters (" + length.toLocaleString("en-US") + " written)" : "");
    }
  }

  function countAll() {
    document.querySelectorAll("textarea[data-sms-count]").forEach(count);
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (area instanceof HTMLTextAreaElement && area.hasAttribute("data-sms-count")) count(area);
  });
  document.addEventListener("change", countAll);  // the channel chosen, the kind of reply
  document.addEventListener("DOMContentLoaded", countAll);
  document.addEventListener("htmx:afterSettle", countAll);
  if (document.readyState !== "loading") countAll();
})();
