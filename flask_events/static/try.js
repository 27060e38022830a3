// The /doc page of Flask-Events: the "try it" panels (over HTTP or the WebSocket) and
// the snippets' Copy buttons.
// Served by the blueprint itself, as is doc.js; nothing comes from elsewhere.
(function () {
  "use strict";

  var eventsUrl = document.body.getAttribute("data-events-url");

  // -- try it ------------------------------------------------------------------------
  // The most milliseconds a send over the WebSocket waits for its answer (a panel's
  // data-websocket-timeout overrides it).
  var WEBSOCKET_TIMEOUT = 30000;

  // state: sending, done, invalid or failed; answer: the answer event, when one came.
  function show(form, state, text, body, answer) {
    var status = form.querySelector(".status");
    var output = form.querySelector(".response");
    var outcome = form.querySelector(".outcome");
    form.setAttribute("data-state", state);
    status.textContent = text;
    output.textContent = body;
    output.hidden = body === "";
    var found = answer ? outcomeOf(answer) : null;
    if (found) {
      form.setAttribute("data-outcome", found.kind);
      outcome.setAttribute("data-outcome", found.kind);
      outcome.textContent = found.text;
    } else {
      form.removeAttribute("data-outcome");
      outcome.removeAttribute("data-outcome");
      outcome.textContent = "";
    }
    outcome.hidden = !found;
  }

  // The outcome of an answer event, by the text after the last ":" of its name
  // (docs/protocol.rst#responses): "response", "redirect", else an error of that type
  // ("eventNotFound" and "badProtocol" have no prefix), with its payload's code.
  function outcomeOf(answer) {
    if (!isObject(answer) || typeof answer.name !== "string") { return null; }
    var type = answer.name.slice(answer.name.lastIndexOf(":") + 1);
    if (type === "response" || type === "redirect") { return { kind: type, text: type }; }
    var code = isObject(answer.payload) && typeof answer.payload.code === "string" ?
      " " + answer.payload.code : "";
    return { kind: "error", text: "error: " + type + code };
  }

  // A random (version 4) UUID; crypto.getRandomValues works on plain http too, where
  // crypto.randomUUID does not exist.
  function uuid4() {
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value) &&
      !(JSON.isRawJSON && JSON.isRawJSON(value));
  }

  // JSON.parse then JSON.stringify would round an integer past 2 ** 53 (a Go int64
  // id): every number is kept as typed, where the browser has JSON.rawJSON.
  function parseExact(text) {
    if (typeof JSON.rawJSON !== "function") { return JSON.parse(text); }
    return JSON.parse(text, function (key, value, context) {
      return typeof value === "number" && context && typeof context.source === "string" ?
        JSON.rawJSON(context.source) : value;
    });
  }

  // Every send gets a fresh id and flowId (a batch's sub-events too, in the batch's
  // flow), so two sends never collide in the server's logs and traces.
  function freshIds(envelope) {
    if (!isObject(envelope)) { return envelope; }
    envelope.id = uuid4();
    envelope.flowId = uuid4();
    var payload = envelope.payload;
    if (isObject(payload) && Array.isArray(payload.events)) {
      payload.events.forEach(function (sub) {
        if (isObject(sub)) {
          sub.id = uuid4();
          sub.flowId = envelope.flowId;
        }
      });
    }
    return envelope;
  }

  // An answer as shown: indented, its big integers as sent where the browser can.
  function answerOf(body) {
    try {
      var event = parseExact(body);
      return { event: event, shown: JSON.stringify(event, null, 2) };
    } catch (error) {
      return { event: null, shown: body };  // not JSON: shown as it came
    }
  }

  function sendOverHttp(form, text) {
    fetch(eventsUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: text
    }).then(function (response) {
      return response.text().then(function (body) {
        var answer = answerOf(body);
        var name = isObject(answer.event) && typeof answer.event.name === "string" ?
          answer.event.name : "";
        show(form, "done", "HTTP " + response.status + (name ? " · " + name : ""),
          answer.shown, answer.event);
      });
    }).catch(function (error) {
      show(form, "failed", "Request failed: " + error.message, "");
    });
  }

  // -- the WebSocket: one connection for the page, opened at the first send over it;
  // answers matched to their panel by id (an answer always carries its request's id).
  var socket = null;
  var pending = {};  // id -> {form, timer}
  var unmatched = [];  // sends without a string id, answered with a fresh one, in order
  var sent = {};  // every id sent: a late answer to one is nobody else's

  function settle(id) {
    var waiting = pending[id];
    if (waiting) {
      delete pending[id];
    } else if (unmatched.length && !(typeof id === "string" && sent[id])) {
      waiting = unmatched.shift();
    }
    if (waiting) { clearTimeout(waiting.timer); }
    return waiting;
  }

  function failAll(message) {
    var all = Object.keys(pending).map(function (id) { return pending[id]; })
      .concat(unmatched);
    pending = {};
    unmatched = [];
    all.forEach(function (waiting) {
      clearTimeout(waiting.timer);
      show(waiting.form, "failed", message, "");
    });
  }

  function connection(url) {
    if (socket && (socket.readyState === WebSocket.CONNECTING ||
        socket.readyState === WebSocket.OPEN)) {
      return socket;
    }
    var opened = new WebSocket(url);
    opened.addEventListener("message", function (message) {
      var answer = answerOf(String(message.data));
      var id = isObject(answer.event) ? answer.event.id : undefined;
      var waiting = settle(id);
      if (!waiting) { return; }  // its panel timed out already
      var name = isObject(answer.event) && typeof answer.event.name === "string" ?
        answer.event.name : "";
      show(waiting.form, "done", "WebSocket" + (name ? " · " + name : ""), answer.shown,
        answer.event);
    });
    opened.addEventListener("close", function (closed) {
      if (socket === opened) { socket = null; }
      failAll("WebSocket closed (code " + closed.code + ") before the answer came");
    });
    opened.addEventListener("error", function () {
      // a "close" event follows, which reports it to the panels still waiting
      if (socket === opened) { socket = null; }
    });
    socket = opened;
    return opened;
  }

  function sendOverWebSocket(form, text, envelope) {
    var url = form.getAttribute("data-websocket-url");
    var ws;
    try {
      ws = connection(url);
    } catch (error) {
      show(form, "failed", "WebSocket failed: " + error.message, "");
      return;
    }
    var id = isObject(envelope) && typeof envelope.id === "string" ? envelope.id : null;
    var waiting = { form: form, timer: null };
    var timeout = Number(form.getAttribute("data-websocket-timeout")) || WEBSOCKET_TIMEOUT;
    waiting.timer = setTimeout(function () {
      if (id !== null) { delete pending[id]; } else {
        unmatched = unmatched.filter(function (other) { return other !== waiting; });
      }
      show(form, "failed", "No answer over the WebSocket within " + timeout / 1000 + " s", "");
    }, timeout);
    if (id !== null) {
      pending[id] = waiting;
      sent[id] = true;
    } else {
      unmatched.push(waiting);
    }
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(text);
    } else {
      ws.addEventListener("open", function () { ws.send(text); }, { once: true });
    }
  }

  // Listened to on the document, so that the panels of details fetched later (doc.js)
  // work as the ones the page came with.
  document.addEventListener("submit", function (submitted) {
    var form = submitted.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("form.try")) { return; }
    submitted.preventDefault();
    var textarea = form.querySelector("textarea");
    var envelope, text;
    try {
      envelope = freshIds(parseExact(textarea.value));
      text = JSON.stringify(envelope, null, 2);
    } catch (error) {
      show(form, "invalid", "Not JSON: " + error.message, "");
      return;
    }
    textarea.value = text;  // what is sent, its new ids included
    var choice = form.querySelector('input[name="transport"]:checked');
    if (choice && choice.value === "websocket") {
      show(form, "sending", "Sending over the WebSocket…", "");
      sendOverWebSocket(form, text, envelope);
    } else {
      show(form, "sending", "Sending…", "");
      sendOverHttp(form, text);
    }
  });

  // -- the snippets' Copy buttons: the clipboard API, else a selected textarea and
  // execCommand("copy") (plain http, where navigator.clipboard does not exist).
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var scratch = document.createElement("textarea");
      scratch.value = text;
      scratch.setAttribute("readonly", "");
      scratch.setAttribute("aria-hidden", "true");
      scratch.style.position = "fixed";
      scratch.style.opacity = "0";
      document.body.appendChild(scratch);
      scratch.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      document.body.removeChild(scratch);
      if (copied) { resolve(); } else { reject(new Error("the browser refused")); }
    });
  }

  document.addEventListener("click", function (clicked) {
    var button = clicked.target.closest && clicked.target.closest(".snippet button.copy");
    if (!button) { return; }
    var snippet = button.closest(".snippet");
    var said = snippet.querySelector(".copied");
    copyText(snippet.querySelector("pre code").textContent).then(function () {
      said.textContent = "Copied";
    }, function (error) {
      said.textContent = "Not copied: " + error.message + "; select the text instead";
    });
  });
})();
