/* Prefill's form pages: a character counter where a field has maxLength, and a
 * busy submit button while a post is on its way. Event delegation, so content
 * swapped in by embed.js works too. Everything works without this script. */
(function () {
  "use strict";
  function count(field) {
    var counter = document.getElementById(field.id + "-counter");
    if (!counter) return;
    var left = (+counter.getAttribute("data-max")) - field.value.length;
    counter.hidden = false;
    var text = counter.getAttribute(left >= 0 ? "data-left" : "data-over") || "{n}";
    counter.textContent = text.replace("{n}", String(Math.abs(left)));
  }
  document.addEventListener("input", function (e) {
    if (e.target.id && e.target.tagName === "TEXTAREA") count(e.target);
  });
  document.addEventListener("submit", function (e) {
    var button = e.target.querySelector("button[type=submit]");
    if (!button || e.defaultPrevented && !button.disabled) return;
    button.setAttribute("aria-busy", "true");
    if (button.getAttribute("data-busy")) button.textContent = button.getAttribute("data-busy");
  });
  window.addEventListener("pageshow", function () { // back to a page whose post was sent: usable again
    var busy = document.querySelectorAll("button[aria-busy=true]");
    for (var i = 0; i < busy.length; i++) busy[i].removeAttribute("aria-busy");
  });
}());
