// Inbox live updates (server-sent events), keyboard shortcuts and canned responses.
(function () {
  "use strict";
  if (window.accordInbox) return;
  window.accordInbox = true;

  function refresh(id) {
    var el = document.getElementById(id);
    if (el && window.htmx) window.htmx.trigger(el, "accord:refresh");
  }

  var pending = null;
  if (window.EventSource) {
    var source = new EventSource("/inbox/events");
    window.accordEvents = source;
    source.addEventListener("conversation", function (ev) {
      var data = {};
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      clearTimeout(pending);
      pending = setTimeout(function () {
        refresh("conversation-list");
        refresh("inbox-tabs");
        var conv = document.querySelector("[data-conversation]");
        if (conv && conv.getAttribute("data-conversation") === data.id) refresh("thread");
      }, 150);
    });
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#conversations tr.row-link")); }
  var cursor = -1;
  function move(step) {
    var list = rows();
    if (!list.length) return;
    cursor = Math.max(0, Math.min(list.length - 1, cursor + step));
    list.forEach(function (r, i) { r.classList.toggle("selected", i === cursor); });
    list[cursor].focus();
  }

  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    var typing = tag === "input" || tag === "textarea" || tag === "select";
    if (typing) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.id === "reply-body") {
        ev.preventDefault();
        ev.target.form.requestSubmit();
      } else if (ev.key === "Escape") {
        ev.target.blur();
      }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "j") move(1);
    else if (ev.key === "k") move(-1);
    else if (ev.key === "Enter" && cursor >= 0 && rows()[cursor]) window.location = rows()[cursor].getAttribute("data-href");
    else if (ev.key === "/") { var q = document.querySelector("input[name=q]"); if (q) { ev.preventDefault(); q.focus(); } }
    else if (ev.key === "r") { var body = document.getElementById("reply-body"); if (body) { ev.preventDefault(); body.focus(); } }
    else if (ev.key === "n") {
      var note = document.querySelector("input[name=kind][value=note]");
      var area = document.getElementById("reply-body");
      if (note && area) { ev.preventDefault(); note.checked = true; area.focus(); }
    } else {
      var button = document.querySelector("button[data-key='" + ev.key + "']");
      if (button) { ev.preventDefault(); button.click(); }
    }
  });

  document.addEventListener("click", function (ev) {
    var row = ev.target.closest && ev.target.closest("tr.row-link");
    if (row && ev.target.tagName !== "A") window.location = row.getAttribute("data-href");
  });

  document.addEventListener("change", function (ev) {
    if (ev.target.id !== "canned" || !ev.target.value) return;
    var select = ev.target;
    fetch(select.getAttribute("data-base") + select.value, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (text) {
        var area = document.getElementById("reply-body");
        if (area && text) { area.value = area.value ? area.value + "\n" + text : text; area.focus(); }
        select.value = "";
      });
  });
  // An article from the knowledge base into the reply: its link (with its title) or its text.
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest(".kb-insert");
    if (!button) return;
    fetch("/knowledge/picker/" + button.getAttribute("data-article"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) {
        var area = document.getElementById("reply-body");
        if (!a || !area) return;
        var piece = button.getAttribute("data-what") === "link" && a.url ? a.title + ": " + a.url : a.text;
        var at = area.selectionStart != null ? area.selectionStart : area.value.length;
        var before = area.value.slice(0, at), after = area.value.slice(at);
        var glue = before && !/\n$/.test(before) ? "\n" : "";
        area.value = before + glue + piece + (after ? "\n" + after : "");
        area.focus();
        area.selectionStart = area.selectionEnd = (before + glue + piece).length;
      });
  });
})();
