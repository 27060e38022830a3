// The /doc page of Flask-Events: the "try it" panels.
// Served by the blueprint itself, as is doc.js; nothing comes from elsewhere.
(function () {
  "use strict";

  var eventsUrl = document.body.getAttribute("data-events-url");

  // -- try it ------------------------------------------------------------------------
  function show(form, state, text, body) {
    var status = form.querySelector(".status");
    var output = form.querySelector(".response");
    form.setAttribute("data-state", state);
    status.textContent = text;
    output.textContent = body;
    output.hidden = body === "";
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

  document.querySelectorAll("form.try").forEach(function (form) {
    form.addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      var textarea = form.querySelector("textarea");
      var text;
      try {
        var envelope = freshIds(parseExact(textarea.value));
        text = JSON.stringify(envelope, null, 2);
      } catch (error) {
        show(form, "invalid", "Not JSON: " + error.message, "");
        return;
      }
      textarea.value = text;  // what is sent, its new ids included
      show(form, "sending", "Sending…", "");
      fetch(eventsUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: text
      }).then(function (response) {
        return response.text().then(function (body) {
          var shown = body;
          var name = "";
          try {
            var event = parseExact(body);  // the answer's big integers as sent too
            name = event.name;
            shown = JSON.stringify(event, null, 2);
          } catch (error) { /* not an event: show the body as it came */ }
          show(form, "done", "HTTP " + response.status + (name ? " · " + name : ""), shown);
        });
      }).catch(function (error) {
        show(form, "failed", "Request failed: " + error.message, "");
      });
    });
  });
})();
