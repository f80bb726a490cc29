// Live chat in the console: the visitor's typing, read receipts, the live visitors list
// and notices from triggers (over the inbox's event stream); the agent's typing and
// reading, sent to the visitor.
(function () {
  "use strict";
  if (window.accordChatAgent) return;
  window.accordChatAgent = true;

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }
  function post(url, data) {
    var body = new URLSearchParams(data || {});
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() }, body: body }).catch(function () {});
  }
  function panel() { return document.getElementById("chat-panel"); }
  function refresh(id) { var el = document.getElementById(id); if (el && window.htmx) window.htmx.trigger(el, "accord:refresh"); }
  var refreshing = {};
  function soon(id, ms) {
    if (refreshing[id]) return;
    refreshing[id] = setTimeout(function () { refreshing[id] = null; refresh(id); }, ms);
  }
  function toast(text) {
    var box = document.getElementById("chat-toasts");
    if (!box) { box = document.createElement("div"); box.id = "chat-toasts"; box.className = "toasts"; box.setAttribute("aria-live", "polite"); document.body.appendChild(box); }
    var t = document.createElement("div"); t.className = "toast"; t.textContent = text; box.appendChild(t);
    setTimeout(function () { t.remove(); }, 12000);
  }

  var typingClear = null;
  function onChat(ev) {
    var d = {}; try { d = JSON.parse(ev.data); } catch (e) { return; }
    var p = panel();
    var mine = p && d.conversation && p.getAttribute("data-conversation") === d.conversation;
    if (d.what === "typing" && d.by === "visitor" && mine) {
      var el = document.getElementById("chat-typing");
      if (el) { el.textContent = d.on ? "The visitor is typing…" : ""; clearTimeout(typingClear); typingClear = setTimeout(function () { el.textContent = ""; }, 8000); }
    } else if (d.what === "read" && d.by === "visitor" && mine) { soon("chat-panel", 200); }
    else if (d.what === "visitor") {
      soon("visitor-list", 1500);
      if (p && d.visitor && p.querySelector("[data-visitor='" + d.visitor + "']")) soon("chat-panel", 800);
    } else if (d.what === "notify") { toast(d.text || "A visitor needs attention"); }
  }
  function listen() {
    if (window.accordEvents) { window.accordEvents.addEventListener("chat", onChat); return; }
    setTimeout(listen, 200);
  }
  listen();

  // The agent's side: typing and reading.
  var typingOn = false, typingStop = null, lastRead = 0;
  function number() { var p = panel(); return p && p.getAttribute("data-number"); }
  function read() {
    var n = number();
    if (!n || document.visibilityState !== "visible" || Date.now() - lastRead < 1500) return;
    lastRead = Date.now(); post("/inbox/" + n + "/read");
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.id !== "reply-body" || !number()) return;
    var channel = document.getElementById("reply-channel");
    var note = document.querySelector("input[name=kind][value=note]");
    if ((channel && channel.value !== "chat") || (note && note.checked)) return;
    if (!typingOn) { typingOn = true; post("/inbox/" + number() + "/typing", { on: "1" }); }
    clearTimeout(typingStop);
    typingStop = setTimeout(function () { typingOn = false; post("/inbox/" + number() + "/typing", { on: "0" }); }, 3000);
  });
  document.addEventListener("submit", function (ev) {
    if (ev.target.id === "reply-form" && typingOn && number()) { typingOn = false; clearTimeout(typingStop); post("/inbox/" + number() + "/typing", { on: "0" }); }
  });
  document.addEventListener("htmx:afterSwap", function (ev) { if (ev.target && ev.target.id === "thread") read(); });
  document.addEventListener("htmx:load", function () { setTimeout(read, 300); });
  document.addEventListener("visibilitychange", read);
  setTimeout(read, 500);
})();
