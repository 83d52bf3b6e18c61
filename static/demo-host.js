/* The demo host page (make run): the install snippet, then sign-in buttons that ask
 * "the integrator's backend" (/demo/widget/identity) for a signed identity. On a
 * real site the snippet is the two lines of docs/widget.md. */
!function (w) {
  if (w.prefill) return;
  var p = w.prefill = { q: [] };
  ["identify", "updateUser", "updateSession", "update", "resetUser", "clearIdentity", "getVisitorId",
    "showForm", "registerFormSchema", "hideForm", "on"].forEach(function (m) {
    p[m] = function () {
      var a = [].slice.call(arguments);
      return new Promise(function (r) { p.q.push([m, a, r]); });
    };
  });
}(window);

(function () {
  var who = document.getElementById("demo-who"), events = document.getElementById("demo-events");
  function note(text) {
    var li = document.createElement("li");
    li.textContent = text;
    events.insertBefore(li, events.firstChild);
  }
  ["ready", "identityUpdate", "formShown", "formSubmitted", "formClosed", "error"].forEach(function (name) {
    prefill.on(name, function (data) {
      note(name + " " + JSON.stringify(data));
      if (name === "identityUpdate" || name === "ready") {
        who.textContent = data.userId ? "Signed in as " + data.userId + (data.verified ? " (verified)." : ".")
          : "Not signed in.";
      }
    });
  });
  document.addEventListener("click", function (e) {
    var persona = e.target.getAttribute("data-persona"), form = e.target.getAttribute("data-show");
    if (form) prefill.showForm(form);
    if (!persona) return;
    if (persona === "anonymous") return prefill.resetUser();
    fetch("/demo/widget/identity?persona=" + encodeURIComponent(persona))
      .then(function (r) { return r.json(); })
      .then(function (body) { return prefill.identify(body); });
  });
}());
