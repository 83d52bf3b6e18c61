/* Prefill's embedded pages (?embed=1): the widget's panel and signed embed links.
 *
 * The session arrives by postMessage from widget.js (checked against the
 * configured origins) or from a one-time #token= link, and is then sent as
 * Authorization: Bearer on every request this page makes. It never goes in a
 * URL, a cookie of a foreign site, or a Referer. Without one, the page is a
 * plain form posted with its cookie session. */
(function () {
  "use strict";
  var body = document.body;
  var allowed = (body.getAttribute("data-origins") || "").split(" ").filter(Boolean);
  var KEY = "prefill:embed-session";
  var token = null, host = null, schema = null, locale = null, formName = null, shown = false, focusTarget = null;
  var page = location.pathname + location.search;

  function main() { return document.querySelector("main"); }

  // Tell the widget on the host page (only once it has spoken: its origin is known).
  function tell(event, data) {
    if (host && window.parent !== window) {
      window.parent.postMessage({ type: "prefill:frame", event: event, data: data || {} }, host);
    }
  }

  function problem(message, code) {
    main().innerHTML = "";
    var p = document.createElement("p");
    p.className = "notice";
    p.setAttribute("role", "alert");
    p.textContent = message;
    main().appendChild(p);
    body.classList.remove("prefill-waiting");
    tell("error", { code: code, message: message });
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var next = doc.querySelector("main");
    if (!next) return problem("The form could not be shown.", "bad_page");
    main().innerHTML = next.innerHTML;
    document.title = doc.title;
    body.classList.remove("prefill-waiting");
    document.dispatchEvent(new Event("prefill:content")); // conditions.js: fields its rules hide
    settle();
  }

  // After new content: announce it to the host and put focus where it helps.
  function settle() {
    var root = main();
    var thanks = root.querySelector("[data-submission]");
    var form = root.querySelector("form.prefill-form");
    var failed = root.querySelector(".error-page[data-code]");
    if (thanks) {
      thanks.focus();
      tell("submitted", { form: formName, id: thanks.getAttribute("data-submission") });
    } else if (form) {
      formName = form.getAttribute("data-form");
      var target = form.querySelector(".error-summary, .notice");
      target = target || form.querySelector("input:not([type=hidden]):not([readonly]):not([disabled]), " +
        "select:not([disabled]), textarea:not([readonly]):not([disabled])");
      if (target) {
        if (!target.hasAttribute("tabindex") && target.classList.contains("notice")) target.setAttribute("tabindex", "-1");
        target.focus();
        focusTarget = target;
      }
      tell("shown", { form: formName, title: document.title, again: shown });
      shown = true;
    } else if (failed) {
      var text = failed.querySelector("p");
      tell("error", { code: failed.getAttribute("data-code"), message: text ? text.textContent : "" });
    }
    resize();
  }

  function send(method, url, data) {
    var headers = { Authorization: "Bearer " + token, Accept: "text/html" };
    if (locale) headers["Accept-Language"] = locale; // the host page's data-locale
    var init = { method: method, headers: headers, credentials: "omit", cache: "no-store" };
    if (data) {
      init.body = data;
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    return fetch(url, init).then(function (r) {
      return r.text().then(swap);
    }, function () {
      problem(body.getAttribute("data-offline") || "The form could not be reached.", "network_error");
    });
  }

  // uploads.js sends the page's files with the same session and language.
  window.PrefillFrame = {
    headers: function () {
      var headers = {};
      if (token) headers.Authorization = "Bearer " + token;
      if (locale) headers["Accept-Language"] = locale;
      return headers;
    }
  };

  function load() {
    if (!schema) return send("GET", page);
    return send("POST", "/widget/adhoc/render?embed=1", new URLSearchParams({ prefill_schema: JSON.stringify(schema) }));
  }

  function start(sessionToken) {
    token = sessionToken;
    load();
  }

  // The widget hands over the session (and an ad-hoc form's schema).
  window.addEventListener("message", function (e) {
    var m = e.data;
    if (e.source !== window.parent || !m || (host && e.origin !== host)) return;
    if (e.origin !== location.origin && allowed.indexOf(e.origin) < 0) return; // a foreign page: ignored
    // Browsers let a cross-site frame move focus only once its host has focused it.
    if (m.type === "prefill:focus" && focusTarget) return focusTarget.focus();
    if (m.type !== "prefill:session" || typeof m.token !== "string") return;
    host = e.origin;
    schema = m.schema || null;
    locale = typeof m.locale === "string" ? m.locale : null;
    start(m.token);
  });

  // A signed embed link: exchanged once for a session, then gone from the address bar.
  var link = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (link) {
    history.replaceState(null, "", page);
    body.classList.add("prefill-waiting");
    fetch("/api/embed/session", {
      method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: decodeURIComponent(link[1]) })
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) return problem((j.error && j.error.message) || "This link cannot be used.", j.error && j.error.code);
        try { sessionStorage.setItem(KEY, j.sessionToken); } catch (err) { /* private mode: this page only */ }
        start(j.sessionToken);
      });
    }, function () { problem(body.getAttribute("data-offline") || "The form could not be reached.", "network_error"); });
  } else {
    try { token = sessionStorage.getItem(KEY); } catch (err) { token = null; }
    if (token) load(); // a reload of an exchanged link keeps its session
  }

  // With a bearer session, the page's own posts and links go through fetch.
  document.addEventListener("submit", function (e) {
    if (!token) return;
    e.preventDefault();
    var form = e.target;
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    var url = schema ? "/widget/adhoc?embed=1" : page;
    send("POST", url, new URLSearchParams(new FormData(form)));
  });

  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-prefill-again]") : null;
    if (!a || !token) return;
    e.preventDefault();
    load();
  });

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") tell("close");
  });

  // The frame is as tall as its content: an error banner never hides the button.
  function resize() {
    var margin = parseFloat(getComputedStyle(body).marginBottom) || 0;
    tell("resize", { height: Math.ceil(body.getBoundingClientRect().bottom + margin) });
  }
  if (window.ResizeObserver) new ResizeObserver(resize).observe(body);
}());
