// Accord chat widget. One tag on any page:
// <script src="https://accord.example.com/static/accord-chat.js" data-write-key="wk_..." async></script>
// API: accord.open(), accord.close(), accord.identify(userId, traits, {userHash, emailHash}),
// accord.track(event, props),
// accord.page(), accord.trigger(name), accord.push([name, ...args]) (queues before the script loads).
// Cart value: accord.track("Cart Updated", {cart_total: 129.5}).
// Identity verification: userHash = HMAC-SHA256(identity secret, userId, or the email without
// one), emailHash = the same of the email, computed on the site's server; without them what
// identify() says is a claim.
(function () {
  "use strict";
  if (window.accord && window.accord.loaded) return;
  var script = document.currentScript || document.querySelector("script[data-write-key][src*='accord-chat']");
  if (!script) return;
  var KEY = script.getAttribute("data-write-key");
  var BASE = new URL(script.src, location.href).origin;
  var queued = Array.isArray(window.accord) ? window.accord : [];
  var store = window.localStorage;
  function get(k) { try { return store.getItem(k); } catch (e) { return null; } }
  function put(k, v) { try { store.setItem(k, v); } catch (e) { /* private mode */ } }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0; return (c === "x" ? r : (r & 3) | 8).toString(16);
    });
  }
  // The anonymous id is kept where analytics.js keeps it, so both agree.
  var anon = (get("ajs_anonymous_id") || "").replace(/"/g, "");
  if (!anon) { anon = uuid(); put("ajs_anonymous_id", JSON.stringify(anon)); }
  var saved = {};
  try { saved = JSON.parse(get("accord_chat") || "{}") || {}; } catch (e) { saved = {}; }
  var userId = (get("ajs_user_id") || "").replace(/"/g, "") || null;

  function send(type, body) {
    body.writeKey = KEY; body.anonymousId = anon; body.type = type;
    if (userId) body.userId = userId;
    body.messageId = uuid(); body.timestamp = new Date().toISOString();
    body.context = { page: { url: location.href, path: location.pathname, title: document.title, referrer: document.referrer }, userAgent: navigator.userAgent };
    return fetch(BASE + "/v1/" + type, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), keepalive: true }).catch(function () {});
  }

  // --- the panel, in a shadow root -----------------------------------------------------
  var host = document.createElement("div");
  host.id = "accord-chat";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var CSS = ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:#fff;display:grid;place-items:center;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}" +
    ".teaser{position:fixed;right:20px;bottom:88px;max-width:300px;background:#fff;color:#111;border-radius:12px;padding:12px 14px;box-shadow:0 6px 24px rgba(0,0,0,.2);z-index:2147483000;cursor:pointer;border:0;text-align:left}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 110px);background:#fff;color:#111;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000}" +
    "[hidden]{display:none!important}header{background:var(--c);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}header h2{margin:0;font-size:16px;flex:1;color:#fff}" +
    "header button{background:transparent;border:0;color:#fff;cursor:pointer;font-size:13px;text-decoration:underline}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;margin:0;list-style:none}" +
    ".m{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}.in{align-self:flex-end;background:var(--c);color:#fff}" +
    ".out{align-self:flex-start;background:#f1f2f6}.who{font-size:11px;color:#555;display:block}.in .who{color:#e5e7ff}.m a{color:inherit}" +
    ".note{font-size:12px;color:#555;text-align:center}.seen{align-self:flex-end;font-size:11px;color:#555}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb;align-items:flex-end}form.stack{flex-direction:column;align-items:stretch}" +
    "textarea,input{flex:1;border:1px solid #c8ccd4;border-radius:8px;padding:8px;resize:none;color:#111;background:#fff}" +
    "button.send,button.pri{background:var(--c);color:#fff;border:0;border-radius:8px;padding:8px 12px;cursor:pointer}" +
    ".icon{background:#f1f2f6;border:0;border-radius:8px;padding:8px;cursor:pointer;color:#333;display:grid;place-items:center}" +
    ".typing{font-size:12px;color:#555;padding:0 14px 4px;min-height:16px}.rate{display:flex;gap:4px;justify-content:center}" +
    ".rate button{border:1px solid #c8ccd4;background:#fff;border-radius:8px;padding:6px 10px;cursor:pointer}.err{color:#a1110a;font-size:12px;padding:0 12px}" +
    ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}.card{border:1px solid #e5e7eb;border-radius:10px;padding:10px;align-self:stretch}" +
    ".sugg{padding:8px 12px;border-top:1px solid #e5e7eb;max-height:45%;overflow-y:auto}.sugg h3{margin:0 0 6px;font-size:13px;font-weight:600}" +
    ".sugg ul{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}.sugg li{border:1px solid #e5e7eb;border-radius:10px;padding:8px}" +
    ".sugg a{color:#1d3fbf;font-weight:600}.sugg p{margin:2px 0 6px;color:#444;font-size:13px}.sugg button{border:1px solid #c8ccd4;background:#fff;border-radius:8px;padding:4px 8px;cursor:pointer;font-size:12px}";
  root.innerHTML = "<style>" + CSS + "</style>" +
    '<button class="teaser" part="teaser" hidden></button>' +
    '<section class="panel" role="dialog" aria-modal="false" aria-labelledby="ac-title" hidden>' +
    '<header><h2 id="ac-title">Chat</h2><button type="button" class="tx" hidden>Email transcript</button><button type="button" class="close" aria-label="Close chat">Close</button></header>' +
    '<ol class="log" role="log" aria-live="polite" aria-label="Messages"></ol>' +
    '<section class="sugg" hidden aria-live="polite" aria-labelledby="ac-sugg"><h3 id="ac-sugg">These articles may answer your question</h3><ul></ul></section>' +
    '<div class="typing" aria-live="polite"></div><div class="err" role="alert"></div>' +
    '<form class="stack pre" hidden aria-label="Before we start"><p class="note">Before we start, who are we talking to?</p>' +
    '<input name="name" autocomplete="name" aria-label="Your name" placeholder="Your name">' +
    '<input name="email" type="email" autocomplete="email" aria-label="Your email" placeholder="Your email" required>' +
    '<button class="pri" type="submit">Start chat</button></form>' +
    '<form class="stack off" hidden aria-label="Leave a message"><p class="note">Nobody is available right now. Leave a message and we will answer by email.</p>' +
    '<input name="name" autocomplete="name" aria-label="Your name" placeholder="Your name">' +
    '<input name="email" type="email" autocomplete="email" aria-label="Your email" placeholder="Your email" required>' +
    '<textarea name="message" rows="3" aria-label="Your message" placeholder="Your message" required></textarea>' +
    '<button class="pri" type="submit">Send message</button></form>' +
    '<form class="stack txf" hidden aria-label="Email the transcript"><p class="note">We email the transcript to the address you are signed in with.</p><button class="pri" type="submit">Send transcript</button></form>' +
    '<form class="compose" aria-label="Write a message"><button type="button" class="icon attach" aria-label="Attach a file"><svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2"><path d="M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7"/></svg></button>' +
    '<input type="file" class="file" hidden aria-hidden="true" tabindex="-1">' +
    '<textarea name="body" rows="1" aria-label="Your message" placeholder="Write a message…"></textarea>' +
    '<button class="send" type="submit">Send</button></form></section>' +
    '<button class="launch" type="button" aria-label="Open chat" aria-expanded="false"><svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg></button>';
  function $(s) { return root.querySelector(s); }
  var panel = $(".panel"), log = $(".log"), launch = $(".launch"), teaser = $(".teaser");
  var compose = $(".compose"), body = compose.querySelector("textarea"), typingEl = $(".typing"), errEl = $(".err");
  var pre = $(".pre"), off = $(".off"), txf = $(".txf"), fileInput = $(".file");

  var state = { visitor: saved.visitor || null, token: saved.token || null, ws: null, hello: null, open: false, status: null, lastIn: null, agentRead: null, seen: {}, retry: 500, cart: saved.cart || null, outbox: [] };

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function scroll() { log.scrollTop = log.scrollHeight; }
  function addMessage(m) {
    if (!m || state.seen[m.id]) return;
    state.seen[m.id] = true;
    var li = el("li", "m " + (m.direction === "in" ? "in" : "out"));
    li.setAttribute("data-id", m.id);
    if (m.direction === "out") li.appendChild(el("span", "who", m.author || "Support"));
    var files = m.files || [], text = m.body || "";
    if (files.length && text === files.map(function (f) { return f.name; }).join(", ")) text = "";
    if (text) li.appendChild(document.createTextNode(text));
    files.forEach(function (f, i) {
      var a = el("a", null, "File: " + f.name + " (" + Math.max(1, Math.round(f.size / 1024)) + " KB)"); a.href = BASE + f.url + "&key=" + encodeURIComponent(KEY);
      a.target = "_blank"; a.rel = "noopener";
      if (text || i) li.appendChild(document.createElement("br"));
      li.appendChild(a);
    });
    log.appendChild(li);
    if (m.direction === "in") state.lastIn = m.at;
    else if (state.open) markRead();
    seen(); scroll();
  }
  function seen() {
    var old = log.querySelector(".seen"); if (old) old.remove();
    if (state.lastIn && state.agentRead && state.agentRead >= state.lastIn) { log.appendChild(el("li", "seen", "Seen")); }
  }
  function note(text) { log.appendChild(el("li", "note", text)); scroll(); }
  function error(text) { errEl.textContent = text || ""; }

  function connect() {
    if (!state.visitor) return;
    var url = BASE.replace(/^http/, "ws") + "/v1/chat/ws?key=" + encodeURIComponent(KEY) + "&visitor=" + state.visitor + "&token=" + encodeURIComponent(state.token);
    var ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = function () {
      state.retry = 500;
      if (state.ident) wsSend(identifyMessage());
    };
    ws.onmessage = function (ev) { var d; try { d = JSON.parse(ev.data); } catch (e) { return; } handle(d); };
    ws.onclose = function (ev) {
      state.ws = null;
      if (ev.code === 4401) { state.visitor = null; put("accord_chat", "{}"); start(); return; }
      setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 15000);
    };
  }
  function wsSend(obj) { if (state.ws && state.ws.readyState === 1) { state.ws.send(JSON.stringify(obj)); return true; } return false; }
  function cartOf(props) { return props && (props.cart_total != null ? props.cart_total : props.cartValue); }

  // Pages seen before the socket opened (a visitor who moves on at once) are told later,
  // with their time, so the live visitors panel misses none of them.
  function pendingPages() { try { return JSON.parse(sessionStorage.getItem("accord_pages") || "[]") || []; } catch (e) { return []; } }
  function notePage() {
    var seenPages = pendingPages().slice(-9);
    seenPages.push({ url: location.href, title: document.title, referrer: document.referrer, at: new Date().toISOString() });
    try { sessionStorage.setItem("accord_pages", JSON.stringify(seenPages)); } catch (e) { /* private mode */ }
  }
  function replayPages() {
    var earlier = pendingPages().slice(0, -1);
    earlier.forEach(function (p) { wsSend({ type: "page", url: p.url, title: p.title, referrer: p.referrer, at: p.at }); });
    try { sessionStorage.setItem("accord_pages", "[]"); } catch (e) { /* private mode */ }
  }
  var timers = [];
  function sendPage() {
    timers.forEach(clearTimeout); timers = [];
    var page = { type: "page", url: location.href, title: document.title, referrer: document.referrer };
    if (state.cart) { page.cart = state.cart.value; page.currency = state.cart.currency; }
    wsSend(page);
    var t = (state.hello && state.hello.timers) || {};
    (t.time_on_page || []).forEach(function (s) { timers.push(setTimeout(function () { wsSend({ type: "event", event: "time_on_page", seconds: s }); }, s * 1000)); });
    var began = Number(sessionStorage.getItem("accord_visit") || 0) || Date.now();
    sessionStorage.setItem("accord_visit", String(began));
    (t.time_on_site || []).forEach(function (s) {
      var left = s * 1000 - (Date.now() - began);
      if (left >= 0) timers.push(setTimeout(function () { wsSend({ type: "event", event: "time_on_site", seconds: s }); }, left));
    });
    exitSent = false; idle();
  }
  var idleTimers = [], exitSent = false;
  function idle() {
    idleTimers.forEach(clearTimeout); idleTimers = [];
    var t = (state.hello && state.hello.timers) || {};
    (t.idle || []).forEach(function (s) { idleTimers.push(setTimeout(function () { wsSend({ type: "event", event: "idle", seconds: s }); }, s * 1000)); });
  }
  ["mousemove", "keydown", "scroll", "touchstart"].forEach(function (n) { document.addEventListener(n, idle, { passive: true }); });
  document.addEventListener("mouseout", function (ev) {
    var t = (state.hello && state.hello.timers) || {};
    if (t.exit && !exitSent && !ev.relatedTarget && ev.clientY <= 0) { exitSent = true; wsSend({ type: "event", event: "exit_intent" }); }
  });

  function handle(d) {
    if (d.type === "hello") {
      state.hello = d; state.token = d.token;
      $(".tx").hidden = !d.verified;
      var s = d.settings || {};
      host.style.setProperty("--c", s.color || "#4f46e5");
      $("#ac-title").textContent = s.title || "Chat";
      if (!log.children.length && s.greeting) log.appendChild(el("li", "note", s.greeting));
      (d.history || []).forEach(addMessage);
      var c = d.conversation || {};
      state.status = c.status || null; state.agentRead = c.agent_read_at || null; seen();
      if (c.status === "resolved" && !c.rated) askRating();
      forms(); replayPages(); sendPage();
      state.outbox.splice(0).forEach(function (m) { if (!wsSend(m)) state.outbox.push(m); });
    } else if (d.type === "message") { addMessage(d.message); typingEl.textContent = ""; }
    else if (d.type === "proactive") { addMessage(d.message); tease(d.message); }
    else if (d.type === "article") {
      var li = el("li", "card"); li.appendChild(el("strong", null, d.title));
      if (d.body) li.appendChild(el("div", null, d.body));
      var a = el("a", null, "Read the article"); a.href = d.url; a.target = "_blank"; a.rel = "noopener"; li.appendChild(a);
      log.appendChild(li); tease({ author: "Suggested", body: d.title });
    } else if (d.type === "typing") { typingEl.textContent = d.on ? (d.name || "Support") + " is typing…" : ""; }
    else if (d.type === "read") { state.agentRead = d.at; seen(); }
    else if (d.type === "status") { state.status = d.status; if (d.status === "resolved") askRating(); }
    else if (d.type === "ack") { error(""); }
    else if (d.type === "offline_received") { off.hidden = true; note("Thank you! We will answer by email."); }
    else if (d.type === "identified") { $(".tx").hidden = !d.verified; if (!d.verified) txf.hidden = true; }
    else if (d.type === "transcript_sent") { txf.hidden = true; note("The transcript is on its way."); }
    else if (d.type === "rated") { var r = log.querySelector(".rating"); if (r) r.remove(); note("Thank you for rating this chat."); }
    else if (d.type === "error") { error(d.message); }
  }
  function forms() {
    var h = state.hello, hasChat = log.querySelector(".m");
    var inside = root.activeElement;
    off.hidden = !h || !!(h.agents_available || hasChat);
    pre.hidden = !(h && h.settings && h.settings.prechat && !hasChat && !saved.prechat && h.agents_available);
    compose.hidden = !off.hidden || !pre.hidden;
    if (state.open && inside && inside.closest("form") && inside.closest("form").hidden) focusForm();
  }
  function focusForm() {
    var first = [pre, off, compose].filter(function (f) { return !f.hidden; })[0];
    var field = first && first.querySelector("input:not([type=file]),textarea");
    if (field) field.focus();
  }
  function tease(m) {
    if (state.open) return;
    teaser.textContent = ""; teaser.appendChild(el("strong", null, (m.author || "Support") + ": "));
    teaser.appendChild(document.createTextNode(m.body || "")); teaser.hidden = false;
  }
  function askRating() {
    if (log.querySelector(".rating")) return;
    var li = el("li", "card rating"); li.appendChild(el("div", null, "How was this chat?"));
    var row = el("div", "rate"); row.setAttribute("role", "group"); row.setAttribute("aria-label", "Rate this chat from 1 to 5");
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", null, String(n)); b.type = "button"; b.setAttribute("aria-label", n + " of 5");
      b.onclick = function () { wsSend({ type: "csat", score: n, comment: "" }); };
      row.appendChild(b);
    });
    li.appendChild(row); log.appendChild(li); scroll();
  }
  function markRead() { if (state.open && document.visibilityState === "visible") wsSend({ type: "read" }); }
  function openPanel() {
    state.open = true; panel.hidden = false; teaser.hidden = true; launch.setAttribute("aria-expanded", "true");
    launch.setAttribute("aria-label", "Close chat"); forms(); markRead(); focusForm(); scroll();
  }
  function closePanel() { state.open = false; panel.hidden = true; launch.setAttribute("aria-expanded", "false"); launch.setAttribute("aria-label", "Open chat"); launch.focus(); }
  launch.onclick = function () { state.open ? closePanel() : openPanel(); };
  teaser.onclick = openPanel;
  $(".close").onclick = closePanel;
  root.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && state.open) closePanel(); });
  document.addEventListener("visibilitychange", markRead);

  var typingOn = false, typingStop = null;
  body.addEventListener("input", function () {
    if (!typingOn) { typingOn = true; wsSend({ type: "typing", on: true }); }
    clearTimeout(typingStop);
    typingStop = setTimeout(function () { typingOn = false; wsSend({ type: "typing", on: false }); }, 2500);
  });
  body.addEventListener("keydown", function (ev) { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); compose.requestSubmit(); } });
  // Answers before an agent: before the first message, articles that may answer the
  // question being typed; "This answered my question" ends it there (counted as deflected).
  var sugg = $(".sugg"), suggTimer = null, suggVisit = null, suggAsked = "";
  function hideSuggestions() { sugg.hidden = true; sugg.querySelector("ul").textContent = ""; suggAsked = ""; }
  function outcome(kind, question) {
    if (!suggVisit) return;
    fetch(BASE + "/v1/help/suggestions/outcome", { method: "POST", headers: { "Content-Type": "application/json" }, keepalive: true,
      body: JSON.stringify({ writeKey: KEY, visit: suggVisit, outcome: kind, question: question || "" }) }).catch(function () {});
    suggVisit = null;
  }
  function showSuggestions(d, field) {
    var list = sugg.querySelector("ul"); list.textContent = "";
    if (!d || !d.articles || !d.articles.length) { sugg.hidden = true; return; }
    suggVisit = d.visit || suggVisit;
    d.articles.forEach(function (a) {
      var li = el("li"), link = el("a", null, a.title);
      link.href = a.url; link.target = "_blank"; link.rel = "noopener";
      li.appendChild(link); li.appendChild(el("p", null, a.excerpt || ""));
      var yes = el("button", null, "This answered my question"); yes.type = "button";
      yes.onclick = function () {
        outcome("answered"); hideSuggestions(); field.value = "";
        note("Glad it helped. We are here if you need anything else.");
      };
      li.appendChild(yes); list.appendChild(li);
    });
    sugg.hidden = false;
  }
  function suggestFor(field) {
    field.addEventListener("input", function () {
      clearTimeout(suggTimer);
      var q = field.value.trim();
      if (log.querySelector(".m") || q.length < 4) { if (q.length < 4) hideSuggestions(); return; }
      suggTimer = setTimeout(function () {
        if (q === suggAsked) return;
        suggAsked = q;
        var url = BASE + "/v1/help/suggestions?source=widget&writeKey=" + encodeURIComponent(KEY) +
          "&visitor=" + encodeURIComponent(anon) + "&q=" + encodeURIComponent(q);
        fetch(url).then(function (r) { return r.ok ? r.json() : null; })
          .then(function (d) { if (field.value.trim() === q) showSuggestions(d, field); }).catch(function () {});
      }, 450);
    });
  }
  suggestFor(body); suggestFor(off.message);
  compose.onsubmit = function (ev) {
    ev.preventDefault();
    var text = body.value.trim(); if (!text) return;
    if (!log.querySelector(".m")) { outcome("contacted", text); hideSuggestions(); }
    var message = { type: "message", body: text, client_id: uuid() };
    // Not connected yet (or reconnecting): it goes as soon as the socket is open; its
    // client id makes a second sending of it the same message.
    if (!wsSend(message)) { state.outbox.push(message); error("Sending as soon as we are connected…"); }
    body.value = ""; typingOn = false; clearTimeout(typingStop); wsSend({ type: "typing", on: false });
  };
  pre.onsubmit = function (ev) {
    ev.preventDefault();
    var name = pre.name.value.trim(), email = pre.email.value.trim();
    wsSend({ type: "identify", traits: { name: name, email: email } });
    saved.prechat = true; persist(); forms(); body.focus();
  };
  off.onsubmit = function (ev) {
    ev.preventDefault();
    outcome("contacted", off.message.value.trim()); hideSuggestions();
    wsSend({ type: "offline", name: off.name.value.trim(), email: off.email.value.trim(), message: off.message.value.trim() });
  };
  $(".tx").onclick = function () { txf.hidden = !txf.hidden; if (!txf.hidden) txf.querySelector("button").focus(); };
  txf.onsubmit = function (ev) { ev.preventDefault(); wsSend({ type: "transcript" }); };
  $(".attach").onclick = function () { fileInput.click(); };
  fileInput.onchange = function () {
    var f = fileInput.files && fileInput.files[0]; if (!f) return;
    var h = state.hello || {};
    if (f.size > (h.max_upload_mb || 10) * 1048576) { error("That file is too large."); fileInput.value = ""; return; }
    var data = new FormData();
    data.append("writeKey", KEY); data.append("visitor", state.visitor); data.append("token", state.token);
    data.append("client_id", uuid()); data.append("file", f);
    error("Sending " + f.name + "…");
    fetch(BASE + "/v1/chat/files", { method: "POST", body: data })
      .then(function (r) { return r.json().then(function (b) { error(r.ok ? "" : (b.detail || "The file was refused.")); }); })
      .catch(function () { error("The file could not be sent."); });
    fileInput.value = "";
  };

  function identifyMessage() {
    var h = state.hashes || {};
    return { type: "identify", userId: userId, traits: state.ident, userHash: h.userHash || null, emailHash: h.emailHash || null };
  }
  function persist() { saved.visitor = state.visitor; saved.token = state.token; put("accord_chat", JSON.stringify(saved)); }
  function start() {
    fetch(BASE + "/v1/chat/session", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ writeKey: KEY, anonymousId: anon, visitorId: state.visitor, token: state.token })
    }).then(function (r) { return r.json(); }).then(function (d) {
      if (!d.visitor_id) return;
      state.visitor = d.visitor_id; state.token = d.token; persist(); connect();
    }).catch(function () { setTimeout(start, 5000); });
  }

  var api = {
    loaded: true,
    open: openPanel,
    close: closePanel,
    page: function () { send("page", { name: document.title }); sendPage(); },
    identify: function (id, traits, options) {
      if (id && typeof id === "object") { options = traits; traits = id; id = null; }
      if (id) { userId = String(id); put("ajs_user_id", JSON.stringify(userId)); }
      send("identify", { traits: traits || {} });
      state.ident = traits || {};
      state.hashes = { userHash: (options && options.userHash) || null, emailHash: (options && options.emailHash) || null };
      wsSend(identifyMessage());
    },
    track: function (event, props) {
      send("track", { event: event, properties: props || {} });
      var cart = cartOf(props);
      if (cart != null) {
        // Kept across pages: a visitor who adds to the cart and moves on at once still
        // arrives at the next page with it (it goes with that page's view).
        state.cart = { value: cart, currency: (props && props.currency) || null };
        saved.cart = state.cart; persist();
        wsSend({ type: "cart", value: cart, currency: state.cart.currency });
      }
    },
    trigger: function (name) { wsSend({ type: "event", event: "custom", name: String(name) }); },
    // accord.push(["track", ...]) works before the script loads (a plain array) and after.
    push: function (call) { if (call && api[call[0]]) api[call[0]].apply(api, call.slice(1)); }
  };
  window.accord = api;
  function boot() {
    document.body.appendChild(host);
    notePage();
    send("page", { name: document.title });
    start();
    queued.forEach(api.push);
  }
  if (document.body) boot(); else document.addEventListener("DOMContentLoaded", boot);
  setInterval(function () { wsSend({ type: "ping" }); }, 20000);
})();
