/* Prefill's file fields. A file chosen, dropped on the field or pasted (a
 * screenshot from the clipboard) is checked against the field's limits, then
 * uploaded at once to /api/uploads with the page's own session: its cookie on
 * Prefill's pages, the bearer token embed.js holds in the widget's panel (never
 * in a URL). Each file shows a <progress>, and what happens to it is said in the
 * field's polite live region; the form then posts the upload ids.
 * Without this script the form is a multipart post of the files themselves. */
(function () {
  "use strict";
  document.documentElement.className += " prefill-js";
  var pending = 0, waiting = null, failed = false; // uploads on their way; a form whose post waits for them

  function fieldOf(node) { return node && node.closest ? node.closest(".field-file") : null; }
  function input(field) { return field.querySelector("input[type=file]"); }
  function drop(field) { return field.querySelector(".drop"); }
  function list(field) { return field.querySelector("ul.files"); }
  function words(field) {
    try { return JSON.parse(drop(field).getAttribute("data-words")) || {}; } catch (e) { return {}; }
  }
  function word(field, key, name) { return (words(field)[key] || words(field).failed || "").replace("{name}", name); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }

  // The field's news, in its polite live region; an error is only heard there (its list shows it).
  function say(field, text, quiet) {
    var status = field.querySelector(".upload-status");
    if (!status) return;
    status.classList.toggle("is-quiet", !!quiet);
    status.textContent = text;
  }

  function size(bytes) {
    var units = [["gigabyte", 1073741824], ["megabyte", 1048576], ["kilobyte", 1024]]; // as the server counts
    for (var i = 0; i < units.length; i++) {
      if (bytes >= units[i][1]) {
        var n = bytes / units[i][1];
        n = n < 10 ? Math.floor(n * 10) / 10 : Math.floor(n);
        try {
          return new Intl.NumberFormat(document.documentElement.lang || undefined,
            { style: "unit", unit: units[i][0], unitDisplay: "short" }).format(n);
        } catch (e) { return n + " " + units[i][0].charAt(0).toUpperCase() + "B"; }
      }
    }
    return bytes + " B";
  }

  // The browser's own check of `accept`; the server judges the bytes themselves.
  function accepted(file, accept) {
    if (!accept) return true;
    var name = file.name.toLowerCase(), type = (file.type || "").toLowerCase();
    return accept.split(",").some(function (a) {
      a = a.trim().toLowerCase();
      if (a.charAt(0) === ".") return name.slice(-a.length) === a;
      if (!type) return true; // a type the browser does not know: the server decides
      if (a.slice(-2) === "/*") return type.indexOf(a.slice(0, -1)) === 0;
      return type === a;
    });
  }

  // Errors of this field's files: in its error list, which describes the control.
  function showError(field, text) {
    var box = input(field), errs = field.querySelector("ul.errors");
    if (!errs) {
      errs = el("ul", { "class": "errors", id: box.id + "-errors" });
      field.appendChild(errs);
    }
    errs.appendChild(el("li", {}, text));
    field.classList.add("has-error");
    box.setAttribute("aria-invalid", "true");
    var ids = (box.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (ids.indexOf(errs.id) < 0) box.setAttribute("aria-describedby", ids.concat(errs.id).join(" "));
    say(field, text, true);
  }

  function clearErrors(field) {
    var errs = field.querySelector("ul.errors"), box = input(field);
    if (errs) errs.parentNode.removeChild(errs);
    field.classList.remove("has-error");
    box.removeAttribute("aria-invalid");
    var ids = (box.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== box.id + "-errors";
    });
    if (ids.length) box.setAttribute("aria-describedby", ids.join(" "));
    else box.removeAttribute("aria-describedby");
  }

  function attached(field) { // uploads on their way or done, and kept ones still ticked
    return Array.prototype.filter.call(list(field).querySelectorAll("li.file"), function (li) {
      var keep = li.querySelector("input[type=checkbox]");
      return !keep || keep.checked;
    }).length;
  }

  // A required field with an upload needs no file in its control (the post carries the ids).
  function required(field) {
    var box = input(field);
    if (box.required) box.setAttribute("data-required", "");
    if (box.hasAttribute("data-required")) box.required = attached(field) === 0;
  }

  // The control shows the files the list holds (dropped and pasted ones too); the post
  // never carries them: it loses its name before any post (below), the ids go instead.
  function sync(field) {
    var box = input(field);
    try {
      var dt = new DataTransfer();
      Array.prototype.forEach.call(list(field).querySelectorAll("li.file"), function (li) {
        if (li.file) dt.items.add(li.file);
      });
      box.files = dt.files;
    } catch (e) { box.value = ""; }
    required(field);
  }

  function drop1(item) {
    if (item.xhr) item.xhr.abort();
    if (item.parentNode) item.parentNode.removeChild(item);
  }

  function forget(field, item, name) {
    drop1(item);
    sync(field);
    say(field, word(field, "removed", name));
    input(field).focus();
  }

  function take(field, files) {
    var box = input(field), d = drop(field);
    if (!box || box.disabled || !files.length) return;
    clearErrors(field);
    var most = +d.getAttribute("data-max-files") || 1, limit = +d.getAttribute("data-max-size") || 0;
    var room = most === 1 ? 1 : most - attached(field); // one file: a good new one replaces it
    var good = files.filter(function (file) {
      var problem = room <= 0 ? "tooMany" : !accepted(file, box.getAttribute("accept")) ? "badType"
        : limit && file.size > limit ? "tooBig" : null;
      if (problem) showError(field, word(field, problem, file.name));
      else room--;
      return !problem;
    });
    if (most === 1 && good.length) Array.prototype.forEach.call(list(field).querySelectorAll("li.file"), drop1);
    good.forEach(function (file) { upload(field, file); });
    sync(field);
  }

  function upload(field, file) {
    var box = input(field), form = box.form, name = file.name;
    var item = el("li", { "class": "file is-uploading" });
    var bar = el("progress", { max: "100", value: "0", "aria-label": word(field, "uploading", name) });
    var remove = el("button", { type: "button", "class": "remove", "aria-label": word(field, "removeName", name) },
      word(field, "remove", name));
    item.appendChild(el("span", { "class": "file-name" }, name));
    item.appendChild(el("span", { "class": "size" }, size(file.size)));
    item.appendChild(bar);
    item.appendChild(remove);
    item.file = file;
    list(field).appendChild(item);
    remove.addEventListener("click", function () { forget(field, item, name); });

    var data = new FormData(); // where it goes first: its limits apply before the bytes arrive
    data.append("form", form ? form.getAttribute("data-form") || "" : "");
    data.append("field", box.getAttribute("data-name") || box.name || box.id);
    data.append("file", file, name);
    var xhr = item.xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads" + location.search); // the form's arguments: the same form, the same limits
    var headers = window.PrefillFrame ? window.PrefillFrame.headers() : {};
    for (var h in headers) xhr.setRequestHeader(h, headers[h]);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.floor(e.loaded / e.total * 100);
    });
    function done(ok) {
      item.xhr = null;
      pending--;
      if (!ok) failed = true;
      if (!pending && waiting) {
        var form = waiting;
        waiting = null;
        if (!failed && form.requestSubmit) form.requestSubmit();
      }
    }
    xhr.addEventListener("load", function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
      if (xhr.status === 201 && answer && answer.id) {
        item.className = "file";
        bar.parentNode.removeChild(bar);
        item.appendChild(el("input", { type: "hidden", name: box.getAttribute("data-name") || box.name, value: answer.id }));
        say(field, word(field, "uploaded", name));
        return done(true);
      }
      item.parentNode.removeChild(item);
      sync(field);
      var code = answer && answer.error ? String(answer.error.code || "") : "";
      var key = "failed";
      if (code === "file_too_large" || xhr.status === 413) key = "tooBig";
      else if (code === "file_refused") key = "badType"; // its content is not what the field takes
      else if (xhr.status === 429) key = "busy";
      showError(field, word(field, key, name));
      done(false);
    });
    xhr.addEventListener("error", function () {
      if (item.parentNode) item.parentNode.removeChild(item);
      sync(field);
      showError(field, word(field, "failed", name));
      done(false);
    });
    xhr.addEventListener("abort", function () { done(true); });
    pending++;
    failed = false;
    say(field, word(field, "uploading", name));
    xhr.send(data);
  }

  document.addEventListener("change", function (e) {
    var field = e.target.type === "file" && fieldOf(e.target);
    if (field) take(field, Array.prototype.slice.call(e.target.files));
  });

  // Drag and drop onto the field (the page itself never opens a dropped file).
  function carriesFiles(e) {
    return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") >= 0;
  }
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (e) {
      if (!carriesFiles(e) || !document.querySelector(".field-file")) return;
      e.preventDefault();
      var field = fieldOf(e.target);
      e.dataTransfer.dropEffect = field && !input(field).disabled ? "copy" : "none";
      if (field) field.classList.add("is-over");
    });
  });
  document.addEventListener("dragleave", function (e) {
    var field = fieldOf(e.target);
    if (field && !field.contains(e.relatedTarget)) field.classList.remove("is-over");
  });
  document.addEventListener("drop", function (e) {
    if (!carriesFiles(e) || !document.querySelector(".field-file")) return;
    e.preventDefault();
    var field = fieldOf(e.target);
    if (!field) return;
    field.classList.remove("is-over");
    take(field, Array.prototype.slice.call(e.dataTransfer.files));
  });

  // A pasted screenshot goes to the focused file field, or to the form's only one.
  document.addEventListener("paste", function (e) {
    var data = e.clipboardData, files = data ? Array.prototype.slice.call(data.files || []) : [];
    if (!files.length) return;
    var t = e.target, typing = t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "file"));
    if (typing && Array.prototype.indexOf.call(data.types || [], "text/plain") >= 0) return; // text wins in a text box
    var field = fieldOf(document.activeElement);
    if (!field) {
      var all = Array.prototype.filter.call(document.querySelectorAll(".field-file"), function (f) {
        return !input(f).disabled;
      });
      field = all.length === 1 ? all[0] : null;
    }
    if (!field) return;
    e.preventDefault();
    var stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
    take(field, files.map(function (f, i) { // a clipboard's image is "image.png": give it a name worth keeping
      if (!/^image\.\w+$/.test(f.name)) return f;
      var suffix = files.length > 1 ? "-" + (i + 1) : "";
      return new File([f], "screenshot-" + stamp + suffix + f.name.slice(5), { type: f.type });
    }));
  });

  // Before the post is built: the control's files are uploads already; a post waits for the rest.
  document.addEventListener("submit", function (e) {
    var form = e.target, boxes = form.querySelectorAll ? form.querySelectorAll(".field-file input[type=file]") : [];
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].name) { boxes[i].setAttribute("data-name", boxes[i].name); boxes[i].removeAttribute("name"); }
    }
    if (!pending) return;
    e.preventDefault();
    e.stopPropagation(); // form.js and embed.js post it later, when the uploads are done
    waiting = form;
    var field = fieldOf(form.querySelector("li.is-uploading"));
    if (field) say(field, word(field, "wait", ""));
  }, true);
}());
