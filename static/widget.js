/*! Prefill widget.js: identity-aware forms on any site. Plain JavaScript, no dependencies.
 * The session lives in the host site's own localStorage and is sent as a bearer
 * token: no third-party cookie, no token in a URL. No call throws or rejects. */
(function () {
  "use strict";
  if (typeof window === "undefined" || typeof document === "undefined") return; // server-side rendering
  var w = window, d = document;
  var stub = w.prefill;
  if (stub && stub.loaded) return;

  var script = d.currentScript || (function () {
    var all = d.querySelectorAll("script[src*='widget.js']");
    return all[all.length - 1];
  }());
  function attr(name) { return script ? script.getAttribute("data-" + name) : null; }
  var base = (attr("prefill-url") || (script && script.src ? new URL(script.src, location.href).origin : location.origin))
    .replace(/\/+$/, "");
  var origin = new URL(base, location.href).origin;
  var locale = attr("locale");
  var accent = attr("accent") || "#1f4fd1";
  // The form in the panel takes the same accent (and the browser's light or dark preference, as the page does).
  var themeQuery = /^#[0-9a-f]{6}$/i.test(accent) && attr("accent") ? "&accent=" + encodeURIComponent(accent) : "";
  // The widget's own words, in the page's language (data-locale, then <html lang>, then the browser's).
  var WORDS = { en: ["Support", "Close form", "Loading form…", "Form"], de: ["Support", "Formular schließen",
    "Formular wird geladen…", "Formular"], fr: ["Assistance", "Fermer le formulaire", "Chargement du formulaire…",
    "Formulaire"], es: ["Soporte", "Cerrar el formulario", "Cargando el formulario…", "Formulario"] };
  var lang = String(locale || d.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var words = WORDS[lang] || WORDS.en;
  var K_TOKEN = "prefill:session:" + origin, K_VISITOR = "prefill:visitorId:" + origin;

  function load(k) { try { return w.localStorage.getItem(k); } catch (e) { return null; } }
  function save(k, v) {
    try { if (v == null) w.localStorage.removeItem(k); else w.localStorage.setItem(k, v); } catch (e) { /* storage off */ }
  }

  var token = load(K_TOKEN), visitorId = load(K_VISITOR);
  var handlers = {}, clientSchemas = {}, warnedUpdate = false, panel = null, launcher = null;

  function fail(code, message) { return { success: false, error: { code: code, message: message } }; }

  // -- events: to on() handlers and to the host window --------------------------
  function emit(event, data) {
    (handlers[event] || []).slice().forEach(function (fn) {
      try { fn(data); } catch (e) { if (w.console) console.error(e); }
    });
    try { w.postMessage({ type: "prefill:" + event, data: data }, location.origin); } catch (e) { /* opaque origin */ }
  }

  // -- the API ----------------------------------------------------------------------
  function request(method, path, body, auth) {
    var headers = { Accept: "application/json" };
    if (auth !== false && token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (locale) headers["Accept-Language"] = locale;
    var init = { method: method, headers: headers, credentials: "omit", mode: "cors", cache: "no-store" };
    if (body !== undefined) init.body = JSON.stringify(body);
    return fetch(base + path, init).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; },
        function () { return { status: r.status, body: {} }; });
    }, function () {
      return { status: 0, body: { error: { code: "network_error", message: "Prefill could not be reached." } } };
    });
  }

  var starting = null;
  function newSession() {
    if (!starting) {
      starting = request("POST", "/api/session", visitorId ? { visitorId: visitorId } : {}, false).then(function (res) {
        starting = null;
        if (res.status !== 201) return res;
        token = res.body.sessionToken;
        visitorId = res.body.visitorId;
        save(K_TOKEN, token);
        save(K_VISITOR, visitorId);
        return null;
      });
    }
    return starting;
  }
  function session() { return token ? Promise.resolve(null) : newSession(); }

  // A call with the session; a token the server no longer knows is replaced once.
  function call(method, path, body, retried) {
    return session().then(function (problem) {
      if (problem) return problem;
      return request(method, path, body).then(function (res) {
        if (res.status === 401 && res.body.error && res.body.error.code === "invalid_session" && !retried) {
          token = null;
          save(K_TOKEN, null);
          return call(method, path, body, true);
        }
        return res;
      });
    });
  }

  function answer(res) {
    if (res.status >= 200 && res.status < 300) return res.body;
    var err = (res.body && res.body.error) || { code: "http_" + res.status, message: "The request failed." };
    emit("error", { code: err.code, message: err.message });
    return { success: false, error: { code: err.code, message: err.message } };
  }

  function identityOf(a) {
    return { visitorId: a.visitorId, userId: a.userId, verified: a.verified, userMetadata: a.userMetadata,
      trustedKeys: a.trustedKeys, sessionMetadata: a.sessionMetadata };
  }

  // Identity calls run one after another, in the order they were made.
  var chain = Promise.resolve();
  function inOrder(fn) {
    var p = chain.then(fn);
    chain = p.then(null, function () {});
    return p;
  }

  function identityCall(path, body) {
    if (!body || typeof body !== "object") return Promise.resolve(fail("validation_failed", "Pass an object."));
    return inOrder(function () {
      return call("POST", path, body).then(function (res) {
        var out = answer(res);
        if (out.success) {
          if (out.visitorId) { visitorId = out.visitorId; save(K_VISITOR, visitorId); }
          emit("identityUpdate", identityOf(out));
        }
        return out;
      });
    });
  }

  function safe(fn) {
    return function () {
      try {
        return Promise.resolve(fn.apply(null, arguments)).then(null, function (e) { return fail("widget_error", String(e)); });
      } catch (e) {
        return Promise.resolve(fail("widget_error", String(e)));
      }
    };
  }

  // -- the panel ----------------------------------------------------------------------
  function css(el, styles) { for (var k in styles) el.style[k] = styles[k]; return el; }
  function el(tag, attrs, styles) {
    var node = d.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    return css(node, styles || {});
  }
  var dark = w.matchMedia ? w.matchMedia("(prefers-color-scheme: dark)") : { matches: false };
  var phone = w.matchMedia ? w.matchMedia("(max-width: 479px)") : { matches: false };

  function place() {
    if (!panel || panel.inline) return;
    var full = phone.matches;
    css(panel.root, full
      ? { top: "0", right: "0", bottom: "0", left: "0", width: "100%", height: "100%", maxHeight: "none", borderRadius: "0" }
      : { top: "auto", left: "auto", right: "20px", bottom: "84px", width: "380px", height: "auto",
        maxHeight: "calc(100vh - 110px)", borderRadius: "12px" });
  }
  if (phone.addEventListener) phone.addEventListener("change", place);

  function openPanel(spec, opts) {
    closePanel(false);
    return new Promise(function (resolve) {
      var host = opts.container;
      if (typeof host === "string") host = d.querySelector(host);
      var inline = !!(host && host.appendChild);
      var bg = dark.matches ? "#1b1d22" : "#ffffff", fg = dark.matches ? "#f1f1f3" : "#1b1d22";
      var root = el("div", { id: "prefill-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "prefill-panel-title" },
        { boxSizing: "border-box", display: "flex", flexDirection: "column", background: bg, color: fg,
          font: "15px/1.4 system-ui, sans-serif", overflow: "hidden" });
      if (!inline) css(root, { position: "fixed", zIndex: "2147483000", boxShadow: "0 8px 32px rgba(0,0,0,.28)" });
      var head = el("div", {}, { display: "flex", alignItems: "center", justifyContent: "space-between",
        padding: "8px 8px 8px 16px", background: accent, color: "#fff" });
      var title = el("h2", { id: "prefill-panel-title" }, { margin: "0", fontSize: "16px", fontWeight: "600" });
      title.textContent = words[2];
      var close = el("button", { type: "button", "aria-label": words[1] }, { background: "transparent",
        color: "#fff", border: "0", fontSize: "24px", lineHeight: "1", minWidth: "44px", minHeight: "44px", cursor: "pointer" });
      close.textContent = "×";
      close.addEventListener("click", function () { hideForm(); });
      // A tall form scrolls here; keyboard users can scroll it too (it takes focus).
      var scroll = el("div", { tabindex: "0", role: "group", "aria-labelledby": "prefill-panel-title" },
        { overflow: "auto", flex: "1 1 auto", background: "#fff" });
      var frame = el("iframe", { title: words[3], src: spec.src }, { display: "block", width: "100%", height: "420px", border: "0" });
      head.appendChild(title);
      head.appendChild(close);
      root.appendChild(head);
      scroll.appendChild(frame);
      root.appendChild(scroll);
      root.addEventListener("keydown", function (e) { if (e.key === "Escape") hideForm(); });
      panel = { root: root, frame: frame, title: title, form: spec.name, inline: inline, prev: d.activeElement,
        resolve: resolve, settled: false };
      panel.timer = setTimeout(function () { settle(fail("timeout", "The form did not load in time.")); }, 15000);
      frame.addEventListener("load", function () {
        frame.contentWindow.postMessage({ type: "prefill:session", token: token, schema: spec.schema || null, locale: locale || null }, origin);
      });
      (inline ? host : d.body).appendChild(root);
      place();
      if (launcher) launcher.setAttribute("aria-expanded", "true");
    });
  }

  function settle(result) {
    if (!panel || panel.settled) return;
    panel.settled = true;
    clearTimeout(panel.timer);
    panel.resolve(result);
  }

  function closePanel(restoreFocus) {
    if (!panel) return;
    var p = panel;
    settle(fail("closed", "The form was closed."));
    panel = null;
    p.root.parentNode && p.root.parentNode.removeChild(p.root);
    if (launcher) launcher.setAttribute("aria-expanded", "false");
    emit("formClosed", { form: p.form });
    if (restoreFocus && p.prev && p.prev.focus) p.prev.focus();
  }

  function hideForm() { closePanel(true); }

  w.addEventListener("message", function (e) {
    var m = e.data;
    if (!panel || e.origin !== origin || e.source !== panel.frame.contentWindow || !m || m.type !== "prefill:frame") return;
    var data = m.data || {};
    if (m.event === "shown") {
      panel.form = panel.form === "adhoc" && data.form ? data.form : panel.form;
      panel.title.textContent = data.title || words[3];
      panel.frame.setAttribute("title", data.title || words[3]);
      if (!data.again) {
        panel.frame.focus();
        panel.frame.contentWindow.postMessage({ type: "prefill:focus" }, origin);
      }
      settle({ success: true });
      emit("formShown", { form: panel.form });
    } else if (m.event === "resize") {
      panel.frame.style.height = Math.max(120, Math.min(+data.height || 0, 4000)) + "px";
    } else if (m.event === "submitted") {
      emit("formSubmitted", { form: panel.form, id: data.id });
    } else if (m.event === "close") {
      hideForm();
    } else if (m.event === "error") {
      var err = { code: String(data.code || "error"), message: String(data.message || "") };
      if (!panel.settled) settle({ success: false, error: err });
      emit("error", err);
    }
  });

  function query(args) {
    var q = "";
    for (var k in args || {}) q += "&" + encodeURIComponent(k) + "=" + encodeURIComponent(args[k]);
    return q;
  }

  function showAdhoc(schema, opts, name) {
    return session().then(function (problem) {
      if (problem) return answer(problem);
      return openPanel({ name: name || "adhoc", src: base + "/widget/adhoc?embed=1&widget=1" + themeQuery, schema: schema }, opts);
    });
  }

  // A client-side provider runs with the sanitized identity, as the SDKs it replaces do.
  function runClientSchema(name, opts) {
    return call("GET", "/api/me").then(function (res) {
      var me = res.status === 200 ? res.body : {};
      var schema = clientSchemas[name](opts.args || {}, { userId: me.userId || null, userMetadata: me.userMetadata || {} });
      return Promise.resolve(schema).then(function (s) { return showAdhoc(s, opts, name); });
    });
  }

  function showForm(nameOrSchema, opts) {
    opts = opts || {};
    if (nameOrSchema && typeof nameOrSchema === "object") return chain.then(function () { return showAdhoc(nameOrSchema, opts); });
    if (typeof nameOrSchema !== "string" || !nameOrSchema) {
      return Promise.resolve(fail("validation_failed", "showForm needs a form name or {fields: […]}."));
    }
    var name = nameOrSchema, path = "/forms/" + encodeURIComponent(name) + "?embed=1&widget=1" + themeQuery + query(opts.args);
    function open() {
      return session().then(function (p) { return p ? answer(p) : openPanel({ name: name, src: base + path }, opts); });
    }
    return chain.then(function () {
      if (!clientSchemas[name]) return open();
      // A server provider of the same name always wins.
      return serverForms().then(function (known) {
        if (known.failed) return answer(known.failed);
        return known.names[name] ? open() : runClientSchema(name, opts);
      });
    });
  }

  // The server's form names, asked once per page and as a list: asking for one
  // form the server lacks would log a 404 in the console on every open.
  var listing = null;
  function serverForms() {
    listing = listing || request("GET", "/api/forms", undefined, false).then(function (res) {
      if (res.status !== 200 || !res.body.forms) { listing = null; return { failed: res }; }
      var names = Object.create(null);
      res.body.forms.forEach(function (f) { names[f.name] = true; });
      return { names: names };
    });
    return listing;
  }

  // -- the launcher ---------------------------------------------------------------------
  function addLauncher(form) {
    launcher = el("button", { type: "button", id: "prefill-launcher", "aria-expanded": "false",
      "aria-haspopup": "dialog", "aria-controls": "prefill-panel" },
    { position: "fixed", right: "20px", bottom: "20px", zIndex: "2147483000", minHeight: "48px", padding: "0 20px",
      border: "0", borderRadius: "24px", background: accent, color: "#fff", font: "600 15px system-ui, sans-serif",
      boxShadow: "0 4px 16px rgba(0,0,0,.25)", cursor: "pointer" });
    launcher.textContent = attr("label") || words[0];
    launcher.addEventListener("click", function () { if (panel) hideForm(); else api.showForm(form); });
    d.body.appendChild(launcher);
  }

  // -- window.prefill ---------------------------------------------------------------------
  var ready = false, queued = (stub && stub.q) || [];
  // Until the session is checked, calls wait in the queue with the stub's: one order for all.
  function whenReady(fn) {
    return function () {
      var args = arguments;
      if (ready) return fn.apply(null, args);
      return new Promise(function (resolve) { queued.push([fn, args, resolve]); });
    };
  }
  var api = {
    loaded: true,
    identify: whenReady(safe(function (p) { return identityCall("/api/identify", p); })),
    updateUser: whenReady(safe(function (p) { return identityCall("/api/user", p); })),
    updateSession: whenReady(safe(function (p) { return identityCall("/api/session/metadata", p); })),
    update: whenReady(safe(function (p) {
      if (!warnedUpdate && w.console) console.warn("prefill.update() is deprecated: use identify, updateUser and updateSession.");
      warnedUpdate = true;
      return identityCall("/api/update", p);
    })),
    resetUser: whenReady(safe(function () { return identityCall("/api/reset", {}); })),
    getVisitorId: function () { return visitorId; },
    showForm: whenReady(safe(showForm)),
    hideForm: hideForm,
    registerFormSchema: function (map) {
      for (var k in map || {}) if (typeof map[k] === "function") clientSchemas[k] = map[k];
    },
    on: function (event, fn) {
      (handlers[event] = handlers[event] || []).push(fn);
      return function () { handlers[event] = (handlers[event] || []).filter(function (h) { return h !== fn; }); };
    }
  };
  api.clearIdentity = api.resetUser;
  w.prefill = api;

  function begin() {
    if (attr("form")) addLauncher(attr("form"));
    // A stored session is checked once; a stale one is replaced, keeping the visitorId.
    var check = token ? call("GET", "/api/me") : newSession().then(function (p) { return p || { status: 200, body: {} }; });
    check.then(function (res) {
      if (res.status === 200 && res.body.visitorId) { visitorId = res.body.visitorId; save(K_VISITOR, visitorId); }
      ready = true;
      // The stub's calls ([name, arguments, resolve]) and ours, replayed in the order they were made.
      queued.forEach(function (item) {
        var fn = typeof item[0] === "function" ? item[0] : api[item[0]], out;
        try {
          out = typeof fn === "function" ? fn.apply(api, item[1] || []) : fail("unknown_method", String(item[0]));
        } catch (e) { out = fail("widget_error", String(e)); }
        if (typeof item[2] === "function") item[2](out);
      });
      queued = [];
      var me = res.status === 200 ? res.body : {};
      emit("ready", { visitorId: visitorId, userId: me.userId || null, verified: !!me.verified });
    });
  }
  if (d.body) begin(); else d.addEventListener("DOMContentLoaded", begin);
}());
