// Accord contact form: <div id="accord-contact"></div>
// <script src="https://accord.example.com/static/accord-form.js" data-write-key="wk_..." defer></script>
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var key = script.getAttribute("data-write-key");
  var base = new URL(script.src).origin;
  var target = document.querySelector(script.getAttribute("data-target") || "#accord-contact");
  if (!target || !key) return;
  var host = target.attachShadow ? target.attachShadow({ mode: "open" }) : target;
  host.innerHTML =
    '<style>form{display:grid;gap:.5rem;font:14px system-ui,sans-serif;max-width:28rem}label{display:grid;gap:.2rem}' +
    'input,textarea{font:inherit;padding:.4rem;border:1px solid #bbb;border-radius:4px}' +
    'button{padding:.5rem;border:0;border-radius:4px;background:#2f6fed;color:#fff;font:inherit}' +
    '.err{color:#a1110a}.ok{color:#17663a}</style>' +
    '<form novalidate><label>Name <input name="name" autocomplete="name"></label>' +
    '<label>Email <input name="email" type="email" autocomplete="email"></label>' +
    '<label>Phone <input name="phone" type="tel" autocomplete="tel"></label>' +
    '<label>Subject <input name="subject"></label>' +
    '<label>Message <textarea name="message" rows="5" required></textarea></label>' +
    '<button type="submit">Send</button><p role="status" aria-live="polite"></p></form>';
  var form = host.querySelector("form");
  var status = host.querySelector("[role=status]");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var data = { writeKey: key, formId: String(Date.now()) + Math.random().toString(16).slice(2) };
    new FormData(form).forEach(function (v, k) { if (v) data[k] = v; });
    try { var anon = window.localStorage.getItem("ajs_anonymous_id"); if (anon) data.anonymousId = anon.replace(/"/g, ""); } catch (e) {}
    fetch(base + "/v1/forms/contact", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        status.className = res.ok ? "ok" : "err";
        status.textContent = res.ok ? "Thank you, we will get back to you shortly." : (res.body.detail || "Something went wrong");
        if (res.ok) form.reset();
      })
      .catch(function () { status.className = "err"; status.textContent = "Could not send; please try again."; });
  });
})();
