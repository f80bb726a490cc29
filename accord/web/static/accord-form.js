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
    '.err{color:#a1110a}.ok{color:#17663a}.sugg{border:1px solid #d0d5dd;border-radius:6px;padding:.5rem .7rem}' +
    '.sugg h3{margin:0 0 .3rem;font-size:.95rem}.sugg ul{margin:0;padding:0;list-style:none;display:grid;gap:.5rem}' +
    '.sugg p{margin:.1rem 0 .3rem;color:#444}.sugg a{color:#1d3fbf;font-weight:600}' +
    '.sugg button{background:#fff;color:#1d2433;border:1px solid #bbb;padding:.25rem .5rem}</style>' +
    '<form novalidate><label>Name <input name="name" autocomplete="name"></label>' +
    '<label>Email <input name="email" type="email" autocomplete="email"></label>' +
    '<label>Phone <input name="phone" type="tel" autocomplete="tel"></label>' +
    '<label>Subject <input name="subject"></label>' +
    '<label>Message <textarea name="message" rows="5" required></textarea></label>' +
    '<section class="sugg" hidden aria-live="polite" aria-labelledby="af-sugg"><h3 id="af-sugg">These articles may answer your question</h3><ul></ul></section>' +
    '<button type="submit">Send</button><p role="status" aria-live="polite"></p></form>';
  var form = host.querySelector("form");
  var status = host.querySelector("[role=status]");
  // Answers before an agent: articles that may answer the question as it is typed; "This
  // answered my question" ends it there (counted as deflected), sending counts a contact.
  var sugg = host.querySelector(".sugg"), visit = null, asked = "", timer = null;
  var anonymous = "", reader = "form-" + Math.random().toString(36).slice(2);
  try { anonymous = (window.localStorage.getItem("ajs_anonymous_id") || "").replace(/"/g, ""); } catch (e) {}
  // Hidden, the list forgets the question it was for: the same one typed again asks again.
  function hide() { sugg.hidden = true; asked = ""; }
  function question() { return [form.subject.value, form.message.value].join(" ").trim(); }
  function outcome(kind) {
    if (!visit) return Promise.resolve();
    var told = fetch(base + "/v1/help/suggestions/outcome", { method: "POST", headers: { "Content-Type": "application/json" }, keepalive: true,
      body: JSON.stringify({ writeKey: key, visit: visit, outcome: kind, question: question() }) }).catch(function () {});
    visit = null;
    return told;
  }
  function show(d) {
    var list = sugg.querySelector("ul"); list.textContent = "";
    if (!d || !d.articles || !d.articles.length) { sugg.hidden = true; return; }
    visit = d.visit || visit;
    d.articles.forEach(function (a) {
      var li = document.createElement("li"), link = document.createElement("a"), p = document.createElement("p");
      link.href = a.url; link.target = "_blank"; link.rel = "noopener"; link.textContent = a.title;
      p.textContent = a.excerpt || "";
      var yes = document.createElement("button"); yes.type = "button"; yes.textContent = "This answered my question";
      yes.onclick = function () {
        outcome("answered"); hide(); form.reset();
        status.className = "ok"; status.textContent = "Glad it helped. Write to us any time if you need more.";
      };
      li.appendChild(link); li.appendChild(p); li.appendChild(yes); list.appendChild(li);
    });
    sugg.hidden = false;
  }
  [form.subject, form.message].forEach(function (field) {
    field.addEventListener("input", function () {
      clearTimeout(timer);
      var q = question();
      if (q.length < 4) { hide(); return; }
      timer = setTimeout(function () {
        if (q === asked) return;
        asked = q;
        fetch(base + "/v1/help/suggestions?source=form&writeKey=" + encodeURIComponent(key) +
          "&visitor=" + encodeURIComponent(anonymous || reader) + "&q=" + encodeURIComponent(q))
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (d) { if (question() === q) show(d); }).catch(function () {});
      }, 450);
    });
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var told = outcome("contacted"); hide();
    var data = { writeKey: key, formId: String(Date.now()) + Math.random().toString(16).slice(2) };
    new FormData(form).forEach(function (v, k) { if (v) data[k] = v; });
    try { var anon = window.localStorage.getItem("ajs_anonymous_id"); if (anon) data.anonymousId = anon.replace(/"/g, ""); } catch (e) {}
    // The form goes once the outcome is told (one after the other, not both at once).
    told.then(function () {
      return fetch(base + "/v1/forms/contact", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
    })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        status.className = res.ok ? "ok" : "err";
        status.textContent = res.ok ? "Thank you, we will get back to you shortly." : (res.body.detail || "Something went wrong");
        if (res.ok) form.reset();
      })
      .catch(function () { status.className = "err"; status.textContent = "Could not send; please try again."; });
  });
})();
