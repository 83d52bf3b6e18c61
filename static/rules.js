/* Prefill's rules for conditional fields: the browser's copy of forms/rules.py,
 * a JSON Logic interpreter with the same subset and the same shape (one table
 * of operations, one apply that recurses). JavaScript's own == and < are the
 * semantics; the server copies them. tests/data/rules_corpus.json holds both to
 * json-logic-js's answers. window.PrefillRules = {apply, truthy}. */
(function (root) {
  "use strict";
  var has = Object.prototype.hasOwnProperty;

  function truthy(value) { // JSON Logic's: JavaScript's, but an empty array is false
    return Array.isArray(value) ? value.length > 0 : !!value;
  }

  function isLogic(rule) {
    return rule !== null && typeof rule === "object" && !Array.isArray(rule) && Object.keys(rule).length === 1;
  }

  function special(fn) { // gets its arguments unevaluated, with the data
    fn.special = true;
    return fn;
  }

  function lookup(data, name, fallback) { // var: a dotted name into own keys and array indexes
    var notFound = fallback === undefined ? null : fallback;
    if (name === undefined || name === null || name === "") return data;
    var keys = String(name).split(".");
    for (var i = 0; i < keys.length; i++) {
      var found = Array.isArray(data) ? /^(0|[1-9][0-9]{0,9})$/.test(keys[i]) && +keys[i] < data.length
        : data !== null && typeof data === "object" && has.call(data, keys[i]);
      if (!found) return notFound;
      data = data[keys[i]];
    }
    return data;
  }

  function evaluate(args, data) {
    return args.map(function (arg) { return apply(arg, data); });
  }

  var operations = {
    "var": special(function (args, data) {
      var values = evaluate(args, data);
      return lookup(data, values[0], values[1]);
    }),
    "missing": special(function (args, data) {
      var names = evaluate(args, data);
      if (Array.isArray(names[0])) names = names[0];
      return names.filter(function (name) {
        var value = operations["var"](Array.isArray(name) ? name : [name], data);
        return value === null || value === "";
      });
    }),
    "if": special(function (args, data) { // if / else-if chains; null when nothing holds
      for (var i = 0; i < args.length - 1; i += 2) {
        if (truthy(apply(args[i], data))) return apply(args[i + 1], data);
      }
      return args.length % 2 ? apply(args[args.length - 1], data) : null;
    }),
    "and": special(function (args, data) { // the first falsy value, else the last
      var value = null;
      for (var i = 0; i < args.length; i++) if (!truthy(value = apply(args[i], data))) return value;
      return value;
    }),
    "or": special(function (args, data) {
      var value = null;
      for (var i = 0; i < args.length; i++) if (truthy(value = apply(args[i], data))) return value;
      return value;
    }),
    "==": function (a, b) { return a == b; }, // eslint-disable-line eqeqeq
    "!=": function (a, b) { return a != b; }, // eslint-disable-line eqeqeq
    "===": function (a, b) { return a === b; },
    "!==": function (a, b) { return a !== b; },
    "<": function (a, b, c) { return c === undefined ? a < b : a < b && b < c; },
    "<=": function (a, b, c) { return c === undefined ? a <= b : a <= b && b <= c; },
    ">": function (a, b) { return a > b; },
    ">=": function (a, b) { return a >= b; },
    "!": function (a) { return !truthy(a); },
    "!!": function (a) { return truthy(a); },
    "in": function (a, b) { // a substring of a string, or an element of an array
      return !!b && typeof b.indexOf === "function" && b.indexOf(a) !== -1;
    }
  };

  function apply(rule, data) {
    if (Array.isArray(rule)) return evaluate(rule, data);
    if (!isLogic(rule)) return rule;
    var op = Object.keys(rule)[0], args = rule[op];
    if (!has.call(operations, op)) throw new Error("unknown operator " + op);
    if (!Array.isArray(args)) args = [args];
    var operation = operations[op];
    return operation.special ? operation(args, data) : operation.apply(null, evaluate(args, data));
  }

  root.PrefillRules = {apply: apply, truthy: truthy};
}(typeof window !== "undefined" ? window : this));
