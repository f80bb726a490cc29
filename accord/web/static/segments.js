// The segment builder: the rule tree is kept as JSON (the REST API's definition, in the
// form's "definition" field) and drawn as form rows: groups (all / any, nestable), "not",
// and conditions of every kind. Each change writes the JSON back and, after a pause,
// asks the console for the size estimate. The pickers offer what the workspace has
// (traits, events and their properties, identifier types, computed traits, segments),
// and value fields suggest the values people have. No inline handlers: the pages'
// security policy runs no inline script.
(function () {
  "use strict";
  if (window.accordSegments) { window.accordSegments(); return; }

  var KINDS = [
    ["trait", "Trait"], ["location", "Location"], ["value", "Profile value"],
    ["computed", "Computed trait"], ["event", "Event"], ["sequence", "Event sequence"],
    ["identifier", "Identifier"], ["consent", "Consent"], ["service", "Service"],
    ["score", "Score"], ["segment", "In a segment"]
  ];
  var OP_WORDS = {
    eq: "is", neq: "is not", gt: "is more than", gte: "is at least", lt: "is less than",
    lte: "is at most", contains: "contains", not_contains: "does not contain",
    starts_with: "starts with", "in": "is one of", not_in: "is none of", exists: "is known",
    not_exists: "is not known", between: "is between", within_last: "is within the last",
    more_than_ago: "is more than … ago", within_next: "is within the next",
    anniversary_within: "comes round within"
  };
  var COMPARE = ["eq", "neq", "gt", "gte", "lt", "lte"];
  var TEXT = ["contains", "not_contains", "starts_with"];
  var LISTS = ["in", "not_in"];
  var PRESENCE = ["exists", "not_exists"];
  var RELATIVE = ["within_last", "more_than_ago", "within_next"];
  var ALL_OPS = COMPARE.concat(TEXT, LISTS, PRESENCE, ["between"], RELATIVE, ["anniversary_within"]);
  var TEXT_OPS = ["eq", "neq"].concat(TEXT, LISTS, PRESENCE);
  var NUMBER_OPS = COMPARE.concat(["between"], PRESENCE);
  var DATE_OPS = ["within_last", "more_than_ago", "gt", "lt", "between"].concat(PRESENCE);
  var PROPERTY_OPS = COMPARE.concat(TEXT, LISTS, PRESENCE, ["between"]);
  var COUNT_WORDS = [["gte", "at least"], ["gt", "more than"], ["eq", "exactly"], ["lte", "at most"], ["lt", "fewer than"]];
  var SERVICE_FACTS = [["open_conversation", "Open conversations"], ["conversations", "Conversations"], ["csat", "Lowest satisfaction score"]];
  var UNITS = [["days", "days"], ["hours", "hours"], ["minutes", "minutes"]];
  var DELAY = 350;

  var uid = 0;
  function nextId(prefix) { uid += 1; return "sg-" + prefix + "-" + uid; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function Builder(form) {
    this.form = form;
    this.treeBox = form.querySelector("#rule-tree");
    this.json = form.querySelector("#definition");
    this.jsonStatus = form.querySelector("#json-status");
    this.estimateBox = document.getElementById("estimate");
    this.csrf = form.querySelector("input[name=csrf_token]").value;
    this.fields = JSON.parse(document.getElementById("segment-fields").textContent || "{}");
    this.suggestCache = {};
    this.timer = null;
    this.asked = 0;
    var read = this.readJson();
    this.tree = this.normalize(read || { kind: "all", conditions: [] });
    this.sharedLists();
    var self = this;
    this.json.addEventListener("input", function () { self.fromJson(); });
    // Enter in a field of the tree adds nothing and must not save the form half-built.
    this.treeBox.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && ev.target.tagName === "INPUT") ev.preventDefault();
    });
    this.render();
    if (read) this.changed(true);
    else {
      this.jsonStatus.textContent = "The JSON below is not valid: correct it, or build the conditions above anew.";
      form.querySelector("#json-view").open = true;
    }
  }

  Builder.prototype.readJson = function () {
    try { return JSON.parse(this.json.value); } catch (e) { return null; }
  };

  // The tree is drawn from a group at its root: a single condition is put in one.
  Builder.prototype.normalize = function (tree) {
    if (!tree || typeof tree !== "object") return { kind: "all", conditions: [] };
    if (tree.kind === "all" || tree.kind === "any") {
      if (!Array.isArray(tree.conditions)) tree.conditions = [];
      return tree;
    }
    return { kind: "all", conditions: [tree] };
  };

  Builder.prototype.fromJson = function () {
    var parsed;
    try { parsed = JSON.parse(this.json.value); } catch (e) {
      this.jsonStatus.textContent = "Not valid JSON yet: " + e.message;
      return;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      this.jsonStatus.textContent = "The definition is one object: a group or a condition.";
      return;
    }
    this.jsonStatus.textContent = "The conditions above follow the JSON.";
    this.tree = this.normalize(parsed);
    this.render();
    this.changed(false, true);
  };

  // Datalists every row shares: trait names, event names.
  Builder.prototype.sharedLists = function () {
    var f = this.fields;
    var box = el("div", { hidden: true });
    var traits = el("datalist", { id: "sg-traits" });
    (f.traits || []).forEach(function (t) { traits.appendChild(el("option", { value: t })); });
    var events = el("datalist", { id: "sg-events" });
    (f.events || []).forEach(function (e) {
      events.appendChild(el("option", { value: e.name, label: e.name + " (" + e.count + ")" }));
    });
    events.appendChild(el("option", { value: "page", label: "page: a page view" }));
    events.appendChild(el("option", { value: "screen", label: "screen: a screen view" }));
    var idents = el("datalist", { id: "sg-identifiers" });
    (f.identifiers || []).forEach(function (t) { idents.appendChild(el("option", { value: t })); });
    box.appendChild(traits); box.appendChild(events); box.appendChild(idents);
    this.form.appendChild(box);
  };

  // --- drawing ------------------------------------------------------------------------

  Builder.prototype.render = function () {
    var active = document.activeElement;
    var key = active && this.treeBox.contains(active) ? active.getAttribute("data-key") : null;
    this.keys = 0;
    this.treeBox.textContent = "";
    this.treeBox.appendChild(this.group(this.tree, null, 1, "root"));
    if (key) {
      var again = this.treeBox.querySelector('[data-key="' + key + '"]');
      if (again) again.focus();
    }
  };

  // After a change: the JSON field follows (unless the change was typed there), then
  // the estimate.
  Builder.prototype.changed = function (first, typedInJson) {
    if (!typedInJson) this.json.value = JSON.stringify(this.tree, null, 2);
    if (!first && !typedInJson) this.jsonStatus.textContent = "";
    this.scheduleEstimate();
  };

  Builder.prototype.structural = function () { this.render(); this.changed(false); };

  // A control's "data-key" is its place in the tree, so focus survives a redraw.
  function keyed(node, path, name) { node.setAttribute("data-key", path + ":" + name); return node; }

  function field(labelText, control, extraClass) {
    var id = control.id || nextId("f");
    control.id = id;
    return el("div", { className: "sg-field" + (extraClass ? " " + extraClass : "") }, [
      el("label", { "for": id, text: labelText }), control, control.sgList || null
    ]);
  }

  // A select of [value, text] options; a value it does not offer (a segment archived
  // since, a field typed in the JSON) is kept as an option of its own, never replaced.
  function select(options, value, attrs) {
    var s = el("select", attrs || {});
    var known = options.some(function (o) { return String(o[0]) === String(value); });
    if (!known && value !== undefined && value !== null && value !== "") options = options.concat([[value, String(value)]]);
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], text: o[1] });
      if (String(o[0]) === String(value)) opt.selected = true;
      s.appendChild(opt);
    });
    return s;
  }

  Builder.prototype.group = function (group, parent, depth, path) {
    var self = this;
    var box = el("div", { className: "sg-group sg-depth-" + Math.min(depth, 4), role: "group" });
    var head = el("div", { className: "sg-group-head" });
    var mode = keyed(select([["all", "all"], ["any", "any"]], group.kind, { "aria-label": "Match all or any" }), path, "kind");
    mode.addEventListener("change", function () { group.kind = mode.value; self.structural(); });
    var title = el("span", { className: "sg-group-title" }, [
      parent ? (parent.negated ? "Not: people matching " : "People matching ") : "People matching ", mode,
      " of these conditions"
    ]);
    box.setAttribute("aria-label", (parent && parent.negated ? "Not: " : "") + "Group: " + group.kind + " of");
    head.appendChild(title);
    if (parent) {
      head.appendChild(this.notToggle(parent, path));
      var drop = keyed(el("button", { type: "button", className: "small-btn danger sg-remove", text: "Remove group" }), path, "remove");
      drop.addEventListener("click", function () { parent.remove(); self.structural(); });
      head.appendChild(drop);
    }
    box.appendChild(head);
    var list = el("ol", { className: "sg-list" });
    group.conditions.forEach(function (child, i) {
      var item = el("li", { className: "sg-item" });
      var here = path + "." + i;
      var place = {
        replace: function (x) { group.conditions[i] = x; },
        remove: function () { group.conditions.splice(i, 1); }
      };
      if (i > 0) item.appendChild(el("div", { className: "sg-joint", text: group.kind === "all" ? "and" : "or" }));
      item.appendChild(self.node(child, place, depth + 1, here));
      list.appendChild(item);
    });
    if (!group.conditions.length) {
      list.appendChild(el("li", { className: "sg-item muted small sg-none", text: "No condition yet: add one." }));
    }
    box.appendChild(list);
    var add = el("div", { className: "sg-add" });
    var addCond = keyed(el("button", { type: "button", className: "small-btn", text: "+ Condition" }), path, "add");
    addCond.addEventListener("click", function () {
      group.conditions.push(self.blank("trait"));
      self.structural();
      var created = self.treeBox.querySelector('[data-key="' + path + "." + (group.conditions.length - 1) + ':kind"]');
      if (created) created.focus();
    });
    add.appendChild(addCond);
    var addGroup = keyed(el("button", { type: "button", className: "small-btn", text: "+ Group" }), path, "addgroup");
    if (depth + 1 > (this.fields.max_depth || 6) - 1) addGroup.disabled = true;
    addGroup.addEventListener("click", function () {
      group.conditions.push({ kind: group.kind === "all" ? "any" : "all", conditions: [self.blank("trait")] });
      self.structural();
      var created = self.treeBox.querySelector('[data-key="' + path + "." + (group.conditions.length - 1) + ':kind"]');
      if (created) created.focus();
    });
    add.appendChild(addGroup);
    box.appendChild(add);
    return box;
  };

  // A node in its place: "not" wraps it (a check box on its row), groups nest.
  Builder.prototype.node = function (node, place, depth, path) {
    var self = this;
    var negated = node.kind === "not" && node.condition && node.condition.kind !== "not";
    var inner = negated ? node.condition : node;
    var here = {
      negated: negated,
      toggleNot: function () {
        if (negated) place.replace(inner); else place.replace({ kind: "not", condition: inner });
      },
      replace: function (x) { if (negated) node.condition = x; else place.replace(x); },
      remove: place.remove
    };
    if (inner.kind === "all" || inner.kind === "any") return this.group(inner, here, depth, path);
    if (inner.kind === "not") {
      // Not of a not: drawn as a box of its own.
      var box = el("div", { className: "sg-group sg-not-box", role: "group", "aria-label": "Not" });
      var head = el("div", { className: "sg-group-head" }, [el("span", { className: "sg-group-title", text: "Not" })]);
      var unwrap = keyed(el("button", { type: "button", className: "small-btn", text: "Remove “not”" }), path, "unwrap");
      unwrap.addEventListener("click", function () { place.replace(inner.condition); self.structural(); });
      head.appendChild(unwrap);
      box.appendChild(head);
      box.appendChild(this.node(inner.condition, {
        replace: function (x) { inner.condition = x; },
        remove: place.remove
      }, depth + 1, path + ".n"));
      return box;
    }
    return this.leaf(inner, here, path);
  };

  Builder.prototype.notToggle = function (place, path) {
    var self = this;
    var box = keyed(el("input", { type: "checkbox" }), path, "not");
    box.checked = place.negated;
    box.addEventListener("change", function () { place.toggleNot(); self.structural(); });
    var id = nextId("not");
    box.id = id;
    return el("span", { className: "sg-not-toggle" }, [box, el("label", { "for": id, text: "Not" })]);
  };

  Builder.prototype.leaf = function (leaf, place, path) {
    var self = this;
    var row = el("div", { className: "sg-cond" + (place.negated ? " negated" : ""), "data-kind": leaf.kind, "data-path": path, role: "group" });
    row.setAttribute("aria-label", (place.negated ? "Not: " : "") + "Condition on " + labelOf(leaf.kind));
    var kind = keyed(select(KINDS, leaf.kind, { className: "sg-kind" }), path, "kind");
    kind.addEventListener("change", function () { place.replace(self.blank(kind.value)); self.structural(); });
    var body = el("div", { className: "sg-body" });
    body.appendChild(field("Condition", kind, "sg-kind-field"));
    var draw = this["draw_" + leaf.kind];
    if (draw) draw.call(this, leaf, body, path);
    else body.appendChild(el("span", { className: "muted small", text: "This condition is edited in the JSON below." }));
    row.appendChild(body);
    var tools = el("div", { className: "sg-tools" });
    tools.appendChild(this.notToggle(place, path));
    var drop = keyed(el("button", { type: "button", className: "small-btn danger sg-remove", "aria-label": "Remove this condition", title: "Remove this condition", text: "✕" }), path, "remove");
    drop.addEventListener("click", function () { place.remove(); self.structural(); });
    tools.appendChild(drop);
    row.appendChild(tools);
    return row;
  };

  function labelOf(kind) {
    for (var i = 0; i < KINDS.length; i++) if (KINDS[i][0] === kind) return KINDS[i][1].toLowerCase();
    return kind;
  }

  Builder.prototype.blank = function (kind) {
    var f = this.fields;
    switch (kind) {
      case "trait": return { kind: "trait", field: "", op: "eq", value: "" };
      case "location": return { kind: "location", field: "country", op: "eq", value: "" };
      case "value": return { kind: "value", field: "revenue", op: "gte", value: "" };
      case "computed": return { kind: "computed", key: (f.computed && f.computed[0]) ? f.computed[0].key : "", op: "gte", value: "" };
      case "event": return { kind: "event", name: "", where: [], count: { op: "gte", value: 1 }, within: null };
      case "sequence": return {
        kind: "sequence", first: { name: "", where: [] }, then: { name: "", where: [] },
        within: { days: 0, hours: 1, minutes: 0 }, lookback: { days: 30, hours: 0, minutes: 0 }
      };
      case "identifier": return { kind: "identifier", type: (f.identifiers && f.identifiers[0]) || "email", present: true };
      case "consent": return { kind: "consent", channel: "email", purpose: "marketing", status: "granted" };
      case "service": return { kind: "service", fact: "open_conversation", op: "gte", value: 1, within: null };
      case "segment": return { kind: "segment", segment_id: (f.segments && f.segments[0]) ? f.segments[0].id : "", member: true };
      case "score": return { kind: "score", field: "rfm_group", op: "eq", value: (f.rfm_groups && f.rfm_groups[0]) ? f.rfm_groups[0][0] : "" };
    }
    return { kind: kind };
  };

  // --- a value test: operator and value ---------------------------------------------

  // What a typed value becomes: a number when it reads as one exactly ("02134" stays
  // text), else the text.
  function coerce(text, mode) {
    var t = String(text).trim();
    if (mode === "text") return t;
    if (t !== "" && isFinite(Number(t)) && String(Number(t)) === t) return Number(t);
    if (mode === "number" && t !== "" && isFinite(Number(t))) return Number(t);
    return t;
  }

  function shown(value) {
    if (value === null || value === undefined) return "";
    return String(value);
  }

  // ``test``: the object holding op and value; ``ops``: the operators offered; ``mode``:
  // "auto", "text", "number" or "date"; ``suggest``: {kind, field(), event()} or null.
  Builder.prototype.valueTest = function (test, body, path, ops, mode, suggest) {
    var self = this;
    if (ops.indexOf(test.op) < 0) ops = ops.concat([test.op]);
    var op = keyed(select(ops.map(function (o) { return [o, OP_WORDS[o] || o]; }), test.op, { className: "sg-op" }), path, "op");
    op.addEventListener("change", function () {
      var before = test.op;
      test.op = op.value;
      test.value = reshape(before, test.op, test.value);
      self.structural();
    });
    body.appendChild(field("Operator", op, "sg-op-field"));
    var o = test.op;
    if (PRESENCE.indexOf(o) >= 0) return;
    if (RELATIVE.indexOf(o) >= 0 || o === "anniversary_within") {
      var days = keyed(el("input", { type: "number", min: "0", step: "any", value: shown(test.value), className: "sg-num", inputmode: "decimal" }), path, "days");
      days.addEventListener("input", function () { test.value = days.value === "" ? "" : Number(days.value); self.changed(false); });
      body.appendChild(field(o === "more_than_ago" ? "Days ago" : "Days", days, "sg-value-field"));
      return;
    }
    if (o === "between") {
      var pair = Array.isArray(test.value) ? test.value : ["", ""];
      test.value = pair;
      [0, 1].forEach(function (i) {
        var input = self.valueInput(shown(pair[i]), mode, path, "v" + i, suggest);
        input.addEventListener("input", function () { pair[i] = coerce(input.value, mode); self.changed(false); });
        body.appendChild(field(i === 0 ? "From" : "To", input, "sg-value-field"));
      });
      return;
    }
    if (LISTS.indexOf(o) >= 0) {
      var list = keyed(el("input", { type: "text", value: (Array.isArray(test.value) ? test.value : []).join(", "), className: "sg-value", placeholder: "a, b, c" }), path, "list");
      list.addEventListener("input", function () {
        test.value = list.value.split(",").map(function (v) { return v.trim(); })
          .filter(function (v) { return v !== ""; }).map(function (v) { return coerce(v, mode); });
        self.changed(false);
      });
      body.appendChild(field("Values, separated by commas", list, "sg-value-field sg-wide"));
      return;
    }
    var input = this.valueInput(shown(test.value), mode, path, "value", suggest);
    input.addEventListener("input", function () { test.value = coerce(input.value, mode); self.changed(false); });
    body.appendChild(field("Value", input, "sg-value-field"));
  };

  function reshape(before, after, value) {
    if (PRESENCE.indexOf(after) >= 0) return null;
    if (after === "between") return Array.isArray(value) && value.length === 2 ? value : [scalar(value), ""];
    if (LISTS.indexOf(after) >= 0) {
      if (Array.isArray(value)) return value.filter(function (v) { return v !== ""; });
      var s = scalar(value);
      return s === "" ? [] : [s];
    }
    if (RELATIVE.indexOf(after) >= 0 || after === "anniversary_within") {
      var n = Number(scalar(value));
      return isFinite(n) && scalar(value) !== "" && RELATIVE.concat(["anniversary_within"]).indexOf(before) >= 0 ? n : 30;
    }
    return scalar(value);
  }

  function scalar(value) {
    if (Array.isArray(value)) return value.length ? value[0] : "";
    return value === null || value === undefined ? "" : value;
  }

  Builder.prototype.valueInput = function (value, mode, path, name, suggest) {
    var attrs = { type: mode === "date" ? "date" : (mode === "number" ? "number" : "text"), value: value, className: "sg-value", autocomplete: "off" };
    if (mode === "number") { attrs.step = "any"; attrs.inputmode = "decimal"; }
    var input = keyed(el("input", attrs), path, name);
    if (suggest) this.suggestions(input, suggest);
    return input;
  };

  // Values the workspace has for the field, as a datalist filled when the field is used.
  Builder.prototype.suggestions = function (input, suggest) {
    var self = this;
    var list = el("datalist", { id: nextId("values") });
    input.setAttribute("list", list.id);
    input.sgList = list;  // placed beside the input by field()
    var pending = null;
    function ask() {
      var fieldName = suggest.field();
      if (!fieldName) return;
      var params = new URLSearchParams({ kind: suggest.kind, field: fieldName, q: input.value.slice(0, 100) });
      var ev = suggest.event ? suggest.event() : null;
      if (suggest.kind === "event") { if (!ev) return; params.set("event", ev); }
      var url = "/segments/suggest?" + params.toString();
      var fill = function (values) {
        list.textContent = "";
        values.forEach(function (v) { list.appendChild(el("option", { value: v })); });
      };
      if (self.suggestCache[url]) { fill(self.suggestCache[url]); return; }
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (values) { self.suggestCache[url] = values; fill(values); })
        .catch(function () { /* no suggestions: the field still takes any value */ });
    }
    input.addEventListener("focus", ask);
    input.addEventListener("input", function () { clearTimeout(pending); pending = setTimeout(ask, 200); });
  };

  // --- each kind of condition -------------------------------------------------------

  Builder.prototype.draw_trait = function (leaf, body, path) {
    var self = this;
    var name = keyed(el("input", { type: "text", value: leaf.field || "", list: "sg-traits", className: "sg-name", autocomplete: "off", placeholder: "e.g. plan" }), path, "field");
    name.addEventListener("input", function () { leaf.field = name.value.trim(); self.changed(false); });
    body.appendChild(field("Trait", name));
    this.valueTest(leaf, body, path, ALL_OPS, "auto", { kind: "trait", field: function () { return leaf.field; } });
  };

  Builder.prototype.draw_location = function (leaf, body, path) {
    var self = this;
    var names = (this.fields.locations || ["country", "state", "city", "postal_code"]).map(function (l) { return [l, l.replace("_", " ")]; });
    var which = keyed(select(names, leaf.field), path, "field");
    which.addEventListener("change", function () { leaf.field = which.value; self.changed(false); });
    body.appendChild(field("Where", which));
    this.valueTest(leaf, body, path, TEXT_OPS, "text", { kind: "location", field: function () { return leaf.field; } });
  };

  Builder.prototype.draw_value = function (leaf, body, path) {
    var self = this;
    var values = this.fields.values || {};
    var names = Object.keys(values).map(function (k) { return [k, k.replace(/_/g, " ")]; });
    var which = keyed(select(names, leaf.field), path, "field");
    which.addEventListener("change", function () {
      var before = values[leaf.field];
      leaf.field = which.value;
      if (values[leaf.field] !== before) { leaf.op = values[leaf.field] === "date" ? "within_last" : (values[leaf.field] === "number" ? "gte" : "eq"); leaf.value = leaf.op === "within_last" ? 30 : ""; }
      self.structural();
    });
    body.appendChild(field("Profile value", which));
    var type = values[leaf.field] || "text";
    var ops = type === "number" ? NUMBER_OPS : (type === "date" ? DATE_OPS : TEXT_OPS);
    this.valueTest(leaf, body, path, ops, type === "number" ? "number" : (type === "date" ? "date" : "text"), null);
  };

  Builder.prototype.draw_computed = function (leaf, body, path) {
    var self = this;
    var traits = (this.fields.computed || []).map(function (c) { return [c.key, c.name + " (" + c.aggregate + ")"]; });
    if (!traits.length) traits = [["", "No computed traits yet"]];
    var which = keyed(select(traits, leaf.key), path, "key");
    which.addEventListener("change", function () { leaf.key = which.value; self.changed(false); });
    body.appendChild(field("Computed trait", which));
    this.valueTest(leaf, body, path, NUMBER_OPS.concat(TEXT, LISTS), "auto", null);
  };

  // An event's name and its property tests (an event condition, or one step of a sequence).
  Builder.prototype.match = function (match, body, path, caption) {
    var self = this;
    var name = keyed(el("input", { type: "text", value: match.name || "", list: "sg-events", className: "sg-name sg-event-name", autocomplete: "off", placeholder: "e.g. Order Completed" }), path, "name");
    name.addEventListener("input", function () { match.name = name.value.trim(); self.changed(false); });
    body.appendChild(field(caption, name));
    var where = el("div", { className: "sg-where" });
    match.where = match.where || [];
    var props = this.propertiesOf(match.name);
    // The properties this event was sent with, offered for its property tests.
    var listId = nextId("props");
    var dl = el("datalist", { id: listId });
    function fillProps() {
      props = self.propertiesOf(match.name);
      dl.textContent = "";
      props.forEach(function (p) { dl.appendChild(el("option", { value: p })); });
    }
    fillProps();
    where.appendChild(dl);
    name.addEventListener("input", fillProps);
    match.where.forEach(function (test, i) {
      var line = el("div", { className: "sg-where-row", role: "group", "aria-label": "Where " + (i + 1) });
      var here = path + ".w" + i;
      var prop = keyed(el("input", { type: "text", value: test.property || "", className: "sg-name", autocomplete: "off", placeholder: "property", list: listId }), here, "property");
      prop.addEventListener("input", function () { test.property = prop.value.trim(); self.changed(false); });
      line.appendChild(el("span", { className: "sg-where-word", text: i === 0 ? "where" : "and" }));
      line.appendChild(field("Property", prop));
      self.valueTest(test, line, here, PROPERTY_OPS, "auto", {
        kind: "event", field: function () { return test.property; }, event: function () { return match.name; }
      });
      var drop = keyed(el("button", { type: "button", className: "small-btn sg-remove", "aria-label": "Remove this property test", title: "Remove this property test", text: "✕" }), here, "remove");
      drop.addEventListener("click", function () { match.where.splice(i, 1); self.structural(); });
      line.appendChild(drop);
      where.appendChild(line);
    });
    var add = keyed(el("button", { type: "button", className: "small-btn link-btn", text: "+ where property…" }), path, "addwhere");
    if (match.where.length >= 10) add.disabled = true;
    add.addEventListener("click", function () {
      match.where.push({ property: props[0] || "", op: "eq", value: "" });
      self.structural();
      var created = self.treeBox.querySelector('[data-key="' + path + ".w" + (match.where.length - 1) + ':property"]');
      if (created) created.focus();
    });
    where.appendChild(add);
    body.appendChild(where);
  };

  Builder.prototype.propertiesOf = function (name) {
    var events = this.fields.events || [];
    for (var i = 0; i < events.length; i++) if (events[i].name === name) return events[i].properties || [];
    return [];
  };

  // A window: "ever" (when allowed) or "in the last N days / hours / minutes".
  Builder.prototype.window = function (holder, key, body, path, caption, allowEver) {
    var self = this;
    var w = holder[key];
    var unit = "days", amount = 30;
    if (w) {
      var minutes = (w.days || 0) * 1440 + (w.hours || 0) * 60 + (w.minutes || 0);
      if (minutes % 1440 === 0) { unit = "days"; amount = minutes / 1440; }
      else if (minutes % 60 === 0) { unit = "hours"; amount = minutes / 60; }
      else { unit = "minutes"; amount = minutes; }
    }
    function write() {
      holder[key] = { days: 0, hours: 0, minutes: 0 };
      holder[key][unit] = amount;
    }
    if (allowEver) {
      var mode = keyed(select([["ever", "ever"], ["last", "in the last"]], w ? "last" : "ever"), path, key + "-mode");
      mode.addEventListener("change", function () {
        if (mode.value === "ever") holder[key] = null; else write();
        self.structural();
      });
      body.appendChild(field(caption, mode));
      if (!w) return;
    }
    var n = keyed(el("input", { type: "number", min: "1", step: "1", value: String(amount), className: "sg-num", inputmode: "numeric" }), path, key + "-n");
    n.addEventListener("input", function () { amount = n.value === "" ? 0 : Math.max(0, Math.floor(Number(n.value))); write(); self.changed(false); });
    var u = keyed(select(UNITS, unit), path, key + "-unit");
    u.addEventListener("change", function () { unit = u.value; write(); self.changed(false); });
    body.appendChild(field(allowEver ? "How many" : caption, n, "sg-num-field"));
    body.appendChild(field("Unit", u, "sg-unit-field"));
  };

  Builder.prototype.draw_event = function (leaf, body, path) {
    var self = this;
    this.match(leaf, body, path, "Event");
    leaf.count = leaf.count || { op: "gte", value: 1 };
    var never = leaf.count.op === "eq" && leaf.count.value === 0;
    var how = keyed(select([["never", "never"]].concat(COUNT_WORDS), never ? "never" : leaf.count.op), path, "count-op");
    how.addEventListener("change", function () {
      if (how.value === "never") leaf.count = { op: "eq", value: 0 };
      else leaf.count = { op: how.value, value: never ? 1 : leaf.count.value };
      self.structural();
    });
    body.appendChild(field("Happened", how));
    if (!never) {
      var times = keyed(el("input", { type: "number", min: "0", step: "1", value: String(leaf.count.value), className: "sg-num", inputmode: "numeric" }), path, "count-n");
      times.addEventListener("input", function () { leaf.count.value = times.value === "" ? 0 : Math.floor(Number(times.value)); self.changed(false); });
      body.appendChild(field("Times", times, "sg-num-field"));
    }
    this.window(leaf, "within", body, path, "When", true);
  };

  Builder.prototype.draw_sequence = function (leaf, body, path) {
    this.match(leaf.first, body, path + ".first", "First this event");
    this.match(leaf.then, body, path + ".then", "…not followed by");
    this.window(leaf, "within", body, path, "Within", false);
    this.window(leaf, "lookback", body, path, "Looking back", false);
  };

  Builder.prototype.draw_identifier = function (leaf, body, path) {
    var self = this;
    var has = keyed(select([["true", "has an identifier of type"], ["false", "has no identifier of type"]], String(leaf.present !== false)), path, "present");
    has.addEventListener("change", function () { leaf.present = has.value === "true"; self.changed(false); });
    body.appendChild(field("The person", has));
    var type = keyed(el("input", { type: "text", value: leaf.type || "", list: "sg-identifiers", className: "sg-name", autocomplete: "off" }), path, "type");
    type.addEventListener("input", function () { leaf.type = type.value.trim(); self.changed(false); });
    body.appendChild(field("Identifier type", type));
  };

  Builder.prototype.draw_consent = function (leaf, body, path) {
    var self = this;
    var c = this.fields.consent || { channels: ["all"], purposes: ["all"], statuses: ["granted"] };
    function pick(name, caption, options) {
      var s = keyed(select(options.map(function (v) { return [v, v === "all" ? "any (all)" : v.replace("_", " ")]; }), leaf[name]), path, name);
      s.addEventListener("change", function () { leaf[name] = s.value; self.changed(false); });
      body.appendChild(field(caption, s));
    }
    pick("purpose", "Consent for", c.purposes);
    pick("channel", "By", c.channels);
    pick("status", "Is", c.statuses);
  };

  Builder.prototype.draw_service = function (leaf, body, path) {
    var self = this;
    var fact = keyed(select(SERVICE_FACTS, leaf.fact), path, "fact");
    fact.addEventListener("change", function () { leaf.fact = fact.value; self.changed(false); });
    body.appendChild(field("Fact", fact));
    var op = keyed(select(COUNT_WORDS.concat([["neq", "not"]]), leaf.op), path, "op");
    op.addEventListener("change", function () { leaf.op = op.value; self.changed(false); });
    body.appendChild(field("Is", op));
    var n = keyed(el("input", { type: "number", min: "0", step: "1", value: String(leaf.value), className: "sg-num", inputmode: "numeric" }), path, "value");
    n.addEventListener("input", function () { leaf.value = n.value === "" ? 0 : Math.floor(Number(n.value)); self.changed(false); });
    body.appendChild(field("Number", n, "sg-num-field"));
    this.window(leaf, "within", body, path, "When", true);
  };

  Builder.prototype.draw_segment = function (leaf, body, path) {
    var self = this;
    var member = keyed(select([["true", "is in"], ["false", "is not in"]], String(leaf.member !== false)), path, "member");
    member.addEventListener("change", function () { leaf.member = member.value === "true"; self.changed(false); });
    body.appendChild(field("The person", member));
    var options = (this.fields.segments || []).map(function (s) { return [s.id, s.name]; });
    if (!options.length) options = [["", "No other segment yet"]];
    var which = keyed(select(options, leaf.segment_id), path, "segment");
    which.addEventListener("change", function () { leaf.segment_id = which.value; self.changed(false); });
    body.appendChild(field("Segment", which));
  };

  // A score of customer analytics: numbers compared, the RFM group (and a persona) chosen
  // among those there are.
  Builder.prototype.draw_score = function (leaf, body, path) {
    var self = this;
    var scores = this.fields.scores || [];
    var types = {};
    scores.forEach(function (s) { types[s.key] = s.type; });
    var which = keyed(select(scores.map(function (s) { return [s.key, s.label]; }), leaf.field), path, "field");
    which.addEventListener("change", function () {
      leaf.field = which.value;
      var choices = self.scoreChoices(leaf.field);
      leaf.op = types[leaf.field] === "number" ? "gte" : "eq";
      leaf.value = choices.length ? choices[0][0] : "";
      self.structural();
    });
    body.appendChild(field("Score", which));
    var choices = this.scoreChoices(leaf.field);
    if (!choices.length) {
      var number = types[leaf.field] === "number";
      this.valueTest(leaf, body, path, number ? NUMBER_OPS : TEXT_OPS, number ? "number" : "text", null);
      return;
    }
    var ops = ["eq", "neq", "in", "not_in"];
    if (ops.indexOf(leaf.op) < 0) ops = ops.concat([leaf.op]);
    var op = keyed(select(ops.map(function (o) { return [o, OP_WORDS[o] || o]; }), leaf.op, { className: "sg-op" }), path, "op");
    op.addEventListener("change", function () {
      var before = leaf.op;
      leaf.op = op.value;
      leaf.value = reshape(before, leaf.op, leaf.value);
      if (leaf.value === "" || leaf.value === null) leaf.value = choices[0][0];
      self.structural();
    });
    body.appendChild(field("Operator", op, "sg-op-field"));
    if (LISTS.indexOf(leaf.op) >= 0) {
      var chosen = Array.isArray(leaf.value) ? leaf.value.map(String) : [];
      var many = keyed(el("select", { multiple: true, size: String(Math.min(choices.length, 5)), className: "sg-value" }), path, "values");
      choices.forEach(function (c) {
        var opt = el("option", { value: c[0], text: c[1] });
        if (chosen.indexOf(String(c[0])) >= 0) opt.selected = true;
        many.appendChild(opt);
      });
      many.addEventListener("change", function () {
        leaf.value = Array.prototype.filter.call(many.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        self.changed(false);
      });
      body.appendChild(field("Values", many, "sg-value-field"));
      return;
    }
    var one = keyed(select(choices, leaf.value, { className: "sg-value" }), path, "value");
    one.addEventListener("change", function () { leaf.value = one.value; self.changed(false); });
    body.appendChild(field("Value", one, "sg-value-field"));
  };

  // [value, label] choices of a score's field: RFM groups, the last recompute's personas.
  Builder.prototype.scoreChoices = function (name) {
    if (name === "rfm_group") return this.fields.rfm_groups || [];
    if (name === "persona_name") return (this.fields.personas || []).map(function (p) { return [p, p]; });
    return [];
  };

  // --- the estimate -----------------------------------------------------------------

  // What is missing before the tree can be asked about, with the row to mark.
  Builder.prototype.missing = function () {
    var found = null;
    function blank(v) { return v === "" || v === null || v === undefined; }
    function needsValue(t) {
      if (PRESENCE.indexOf(t.op) >= 0) return false;
      if (t.op === "between") return !Array.isArray(t.value) || blank(t.value[0]) || blank(t.value[1]);
      if (LISTS.indexOf(t.op) >= 0) return !Array.isArray(t.value) || !t.value.length;
      return blank(t.value);
    }
    function matchMissing(m) {
      if (!m || !m.name) return "an event name";
      for (var i = 0; i < (m.where || []).length; i++) {
        if (!m.where[i].property) return "a property name";
        if (needsValue(m.where[i])) return "a property's value";
      }
      return null;
    }
    function walk(node, path) {
      if (found || !node) return;
      if (node.kind === "all" || node.kind === "any") {
        if (!node.conditions.length) { found = { path: path, what: "a condition in every group" }; return; }
        node.conditions.forEach(function (c, i) { walk(c, path + "." + i); });
        return;
      }
      if (node.kind === "not") {
        var inner = node.condition;
        walk(inner, inner && inner.kind === "not" ? path + ".n" : path);
        return;
      }
      var what = null;
      switch (node.kind) {
        case "trait": what = !node.field ? "a trait" : (needsValue(node) ? "a value" : null); break;
        case "location": case "value": case "score": what = needsValue(node) ? "a value" : null; break;
        case "computed": what = !node.key ? "a computed trait" : (needsValue(node) ? "a value" : null); break;
        case "event": what = matchMissing(node); break;
        case "sequence": what = matchMissing(node.first) || matchMissing(node.then); break;
        case "identifier": what = node.type ? null : "an identifier type"; break;
        case "segment": what = node.segment_id ? null : "a segment"; break;
      }
      if (what) found = { path: path, what: what };
    }
    walk(this.tree, "root");
    return found;
  };

  Builder.prototype.scheduleEstimate = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.estimate(); }, DELAY);
  };

  Builder.prototype.say = function (html, state) {
    this.estimateBox.innerHTML = html;
    this.estimateBox.setAttribute("data-state", state);
  };

  Builder.prototype.estimate = function () {
    var self = this;
    this.treeBox.querySelectorAll(".sg-cond.incomplete").forEach(function (r) { r.classList.remove("incomplete"); });
    if (!this.tree.conditions.length) {
      this.say('<p class="muted small">Add a condition to see how many people it holds.</p>', "empty");
      return;
    }
    var gap = this.missing();
    if (gap) {
      var row = this.treeBox.querySelector('[data-path="' + gap.path + '"]');
      if (row) row.classList.add("incomplete");
      var p = document.createElement("p");
      p.className = "muted small";
      p.textContent = "Waiting for " + gap.what + " in the highlighted condition.";
      this.estimateBox.textContent = "";
      this.estimateBox.appendChild(p);
      this.estimateBox.setAttribute("data-state", "incomplete");
      return;
    }
    var asked = ++this.asked;
    this.estimateBox.setAttribute("aria-busy", "true");
    this.estimateBox.classList.add("loading");
    fetch("/segments/estimate", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json", Accept: "text/html", "X-CSRF-Token": this.csrf,
        "HX-Request": "true"
      },
      body: JSON.stringify({ definition: this.tree })
    }).then(function (r) {
      if (r.status === 204 && r.headers.get("HX-Redirect")) { window.location = r.headers.get("HX-Redirect"); return null; }
      return r.text().then(function (html) { return { ok: r.ok, html: html }; });
    }).then(function (got) {
      if (!got || asked !== self.asked) return;  // a later question is on its way
      self.estimateBox.classList.remove("loading");
      self.estimateBox.setAttribute("aria-busy", "false");
      self.say(got.html, got.ok ? "ok" : "invalid");
    }).catch(function () {
      if (asked !== self.asked) return;
      self.estimateBox.classList.remove("loading");
      self.estimateBox.setAttribute("aria-busy", "false");
      self.say('<p class="muted small">The estimate could not be reached; it will be tried again at the next change.</p>', "error");
    });
  };

  function init() {
    var form = document.getElementById("segment-builder");
    if (!form || form.getAttribute("data-ready")) return;
    form.setAttribute("data-ready", "1");
    form.accordBuilder = new Builder(form);
  }
  window.accordSegments = init;
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
  init();
})();
