// Instant answers as the reader types in the help center's search (the form works
// without this script: it submits to the search page).
(function () {
  "use strict";
  var form = document.querySelector("form[data-instant]");
  if (!form) return;
  var input = form.querySelector("input[name=q]");
  var lang = form.querySelector("input[name=lang]");
  var box = document.getElementById("help-instant");
  var timer = null;
  var asked = 0;

  function clear() { box.hidden = true; box.textContent = ""; }

  function show(data) {
    box.textContent = "";
    if (!data.results.length) {
      var none = document.createElement("p");
      none.textContent = "No answers yet: press Enter to search everything.";
      box.appendChild(none);
    } else {
      var list = document.createElement("ul");
      data.results.forEach(function (r) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = r.url;
        var title = document.createElement("strong");
        title.textContent = r.title;
        var excerpt = document.createElement("span");
        excerpt.textContent = r.excerpt;
        a.appendChild(title);
        a.appendChild(excerpt);
        li.appendChild(a);
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    box.hidden = false;
  }

  function ask() {
    var q = input.value.trim();
    if (q.length < 2) { clear(); return; }
    var mine = ++asked;
    var url = form.dataset.instant + "?q=" + encodeURIComponent(q) +
      (lang ? "&lang=" + encodeURIComponent(lang.value) : "");
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && mine === asked) show(data); })
      .catch(function () { /* the form still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 120);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Escape") clear();
  });
  document.addEventListener("click", function (e) {
    if (!form.contains(e.target)) clear();
  });
})();

// How long an article was read: sent once as the reader leaves the page (the time the
// page was visible, not the time it sat in a background tab).
(function () {
  "use strict";
  var article = document.querySelector("article[data-read]");
  if (!article || !navigator.sendBeacon) return;
  var visible = 0;
  var since = document.visibilityState === "visible" ? Date.now() : null;
  function pause() {
    if (since !== null) { visible += Date.now() - since; since = null; }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { since = Date.now(); }
    else { pause(); send(); }
  });
  window.addEventListener("pagehide", function () { pause(); send(); });
  function send() {
    if (visible < 1000) return;  // the server keeps the longest report
    var body = new FormData();
    body.append("seconds", String(Math.round(visible / 1000)));
    navigator.sendBeacon(article.dataset.read, body);
  }
})();
