// json-logic-js, the reference implementation, as a filter: each line on stdin is
// a JSON array of [rule, data] cases; each line out is their answers, in order,
// as {value}, {undefined} or {error}. One process serves a whole test run.
"use strict";
var jsonLogic = require(require("path").join(__dirname, "..", "node_modules", "json-logic-js"));

function answer(c) {
  try {
    var value = jsonLogic.apply(c[0], c[1]);
    return value === undefined ? {undefined: true} : {value: value};
  } catch (e) {
    return {error: String(e && e.message)};
  }
}

require("readline").createInterface({input: process.stdin}).on("line", function (line) {
  process.stdout.write(JSON.stringify(JSON.parse(line).map(answer)) + "\n");
});
