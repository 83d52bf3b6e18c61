/* The demo host page (make run): the install snippet's stub (docs/widget.md's, to the
 * byte: this page's CSP allows no inline script, so it comes from here), then sign-in
 * buttons that ask "the integrator's backend" (/demo/widget/identity) for a signed
 * identity. */
!function(w){if(w.prefill)return;var p=w.prefill={q:[]};function add(n,f){n.split(" ").forEach(function(m){
p[m]=function(){return f([m,[].slice.call(arguments)])}})}
add("identify updateUser updateSession update resetUser clearIdentity showForm",function(e){return new Promise(function(r){
e[2]=r;p.q.push(e)})});add("hideForm registerFormSchema",function(e){p.q.push(e)});add("getVisitorId",function(){return null});
add("on",function(e){var u;e[2]=function(f){u=f};p.q.push(e);return function(){var i=p.q.indexOf(e);i<0?u&&u():p.q.splice(i,1)}})}(window);

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
