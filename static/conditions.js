/* Prefill's conditional fields in the page: the browser's copy of
 * forms/conditions.py, on the page's inputs. Each field's wrapper carries its
 * name and type, its rules as JSON (data-visible-if, data-required-if; an
 * option's data-visible-if) and the fields its visibility reads (data-reads):
 * this reads every value as the server's rule_value does, decides in the same
 * order, and then a hidden field gets the hidden attribute (out of the tab
 * order and the accessibility tree) and disabled controls (its value is not
 * posted) but keeps what was typed for when it comes back. A field that
 * appears is announced politely. Without this script every field shows and
 * the server decides at submit, as it always does. Event delegation, so
 * content swapped in by embed.js works too. Needs window.PrefillRules. */
(function () {
  "use strict";
  var MAX_SAFE = 9007199254740991;
  var NUMBER = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:e[+-]?\d(?:_?\d)*)?$/i; // Python's float()
  var parsed = Object.create(null);

  function holds(text, data) {
    var rule = text in parsed ? parsed[text] : (parsed[text] = JSON.parse(text));
    return window.PrefillRules.truthy(window.PrefillRules.apply(rule, data));
  }

  function numberFrom(text) { // forms.prefill.number_from on a string
    var t = text.trim();
    if (!NUMBER.test(t)) return null;
    var n = Number(t.replace(/_/g, ""));
    if (!isFinite(n)) return null;
    if (Number.isInteger(n) && !/[.e]/i.test(t)) return Math.abs(n) <= MAX_SAFE ? n : null;
    return n;
  }

  function ruleValue(box, raw) { // forms.conditions.rule_value
    var type = box.getAttribute("data-type");
    if (box.hasAttribute("data-multiple")) {
      if (Array.isArray(raw)) return raw.length ? raw : null;
      return raw === null || raw === "" ? null : raw;
    }
    if (type === "checkbox") return typeof raw === "boolean" ? raw : !!raw;
    if (raw === null || raw === "") return null;
    if (type === "number" && typeof raw === "string") {
      var n = numberFrom(raw);
      return n === null ? raw : n;
    }
    return raw;
  }

  function controls(box) {
    var name = box.getAttribute("data-field");
    return Array.prototype.filter.call(box.querySelectorAll("input, select, textarea"), function (c) {
      return c.name === name;
    });
  }

  // What the form posts for the field (forms.wtf.values_from_formdata), or a
  // locked choice's value (its control shows labels; the server uses its own).
  function raw(box) {
    var known = box.getAttribute("data-value");
    if (known !== null) return JSON.parse(known);
    var found = [];
    controls(box).forEach(function (c) {
      if (c.type === "checkbox" || c.type === "radio") {
        if (c.checked) found.push(c.value);
      } else if (c.tagName === "SELECT") {
        Array.prototype.forEach.call(c.options, function (o) { if (o.selected && !o.disabled) found.push(o.value); });
      } else {
        found.push(c.value);
      }
    });
    if (box.hasAttribute("data-multiple")) return found;
    if (box.getAttribute("data-type") === "checkbox") return found.length > 0 && ["", "false", "n"].indexOf(found[0]) < 0;
    return found.length ? found[0] : null;
  }

  // forms.conditions.order: each field after the fields its visibility reads, form order otherwise.
  function ordered(names, boxes) {
    var position = Object.create(null), waiting = Object.create(null), readers = Object.create(null);
    var ready = [], out = [];
    names.forEach(function (name, i) { position[name] = i; readers[name] = []; });
    names.forEach(function (name) {
      var reads = (boxes[name].getAttribute("data-reads") || "").split(" ").filter(function (r) {
        return r && r !== name && r in position;
      });
      waiting[name] = reads.length;
      reads.forEach(function (r) { readers[r].push(name); });
      if (!reads.length) ready.push(name);
    });
    while (ready.length) {
      ready.sort(function (a, b) { return position[b] - position[a]; });
      var name = ready.pop();
      out.push(name);
      readers[name].forEach(function (r) { if (!--waiting[r]) ready.push(r); });
    }
    return out.length === names.length ? out : names; // a circle: the schema check refuses them
  }

  function optionValue(el) {
    return el.tagName === "OPTION" ? el.value : (el.querySelector("input") || {}).value;
  }

  function fieldsOf(form) {
    var boxes = Object.create(null), names = [];
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (box) {
      var name = box.getAttribute("data-field");
      boxes[name] = box;
      names.push(name);
    });
    return { boxes: boxes, names: names };
  }

  // forms.conditions.decide on the page's values: {hidden, required, gone, data}.
  function decide(form) {
    var f = fieldsOf(form), data = Object.create(null), hidden = Object.create(null);
    var gone = Object.create(null), required = Object.create(null);
    f.names.forEach(function (name) { data[name] = ruleValue(f.boxes[name], raw(f.boxes[name])); });
    ordered(f.names, f.boxes).forEach(function (name) {
      var box = f.boxes[name], rule = box.getAttribute("data-visible-if");
      if (rule !== null && !holds(rule, data)) {
        hidden[name] = true;
        data[name] = null;
        return;
      }
      Array.prototype.forEach.call(box.querySelectorAll("[data-visible-if]"), function (el) {
        if (!holds(el.getAttribute("data-visible-if"), data)) (gone[name] = gone[name] || []).push(optionValue(el));
      });
    });
    f.names.forEach(function (name) {
      var box = f.boxes[name], rule = box.getAttribute("data-required-if");
      if (!hidden[name] && (box.hasAttribute("data-required") || (rule !== null && holds(rule, data)))) {
        required[name] = true;
      }
    });
    return { fields: f, hidden: hidden, required: required, gone: gone, data: data };
  }

  // A choice its rule hides is no choice: unchosen (then decided again, as posted).
  function unchoose(d) {
    var changed = false;
    Object.keys(d.gone).forEach(function (name) {
      var gone = d.gone[name];
      controls(d.fields.boxes[name]).forEach(function (c) {
        if ((c.type === "checkbox" || c.type === "radio") && c.checked && gone.indexOf(c.value) >= 0) {
          c.checked = false;
          changed = true;
        } else if (c.tagName === "SELECT") {
          Array.prototype.forEach.call(c.options, function (o) {
            if (o.selected && gone.indexOf(o.value) >= 0) {
              o.selected = false;
              changed = true;
              var blank = c.multiple ? null : c.querySelector("option[value='']");
              if (blank && gone.indexOf("") < 0) blank.selected = true;
              else if (!c.multiple) c.selectedIndex = -1;
            }
          });
        }
      });
    });
    return changed;
  }

  function switchOff(el, off) { // disabled by a rule (marked), never a control the server disabled
    if (off && !el.disabled) {
      el.disabled = true;
      el.setAttribute("data-rule-off", "");
    } else if (!off && el.hasAttribute("data-rule-off")) {
      el.disabled = false;
      el.removeAttribute("data-rule-off");
    }
  }

  function labelOf(box) {
    var label = box.querySelector("legend") || box.querySelector("label");
    if (!label) return "";
    var copy = label.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll(".req"), function (star) { star.remove(); });
    return copy.textContent.trim();
  }

  function announce(form, labels) {
    var region = form.querySelector("[data-announce]");
    if (!region || !labels.length) return;
    var text = (region.getAttribute("data-announce") || "{fields}").replace("{fields}", labels.join(", "));
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 100); // a change, even to the same words
  }

  function update(form, tell) {
    var d = decide(form), rounds = 0;
    while (unchoose(d) && rounds++ < 50) d = decide(form);
    var appeared = [];
    d.fields.names.forEach(function (name) {
      var box = d.fields.boxes[name], shown = !d.hidden[name];
      var hide = shown ? box.hasAttribute("data-conceal") : true;
      if (box.hidden && !hide) appeared.push(labelOf(box));
      box.hidden = hide;
      controls(box).forEach(function (c) { switchOff(c, !shown); });
      var gone = d.gone[name] || [];
      Array.prototype.forEach.call(box.querySelectorAll("[data-visible-if]"), function (el) {
        var off = gone.indexOf(optionValue(el)) >= 0;
        el.hidden = off;
        if (shown) switchOff(el.tagName === "OPTION" ? el : el.querySelector("input"), off);
      });
      if (box.hasAttribute("data-visible-if") || box.hasAttribute("data-required-if")) {
        var must = !!d.required[name];
        if (box.getAttribute("data-type") !== "checkboxes") {
          controls(box).forEach(function (c) { if (c.type !== "hidden") c.required = must; });
        }
        if (!box.hasAttribute("data-required")) {
          Array.prototype.forEach.call(box.querySelectorAll(".req"), function (star) { star.hidden = !must; });
        }
      }
    });
    if (tell) announce(form, appeared.filter(Boolean));
    return d;
  }

  function hasRules(form) { // without rules.js (not loaded) the page stays as the server sent it
    return !!window.PrefillRules && !!form.querySelector("[data-visible-if], [data-required-if]");
  }

  function all() {
    Array.prototype.forEach.call(document.querySelectorAll("form.prefill-form"), function (form) {
      if (hasRules(form)) update(form, false);
    });
  }

  function changed(e) {
    var form = e.target.closest ? e.target.closest("form.prefill-form") : null;
    if (form && hasRules(form)) update(form, true);
  }

  document.addEventListener("input", changed);
  document.addEventListener("change", changed);
  document.addEventListener("prefill:content", all); // embed.js swapped a page in
  window.addEventListener("pageshow", all); // back to the page: the browser restored its inputs
  window.PrefillConditions = { decide: decide, update: update };
  all();
}());
