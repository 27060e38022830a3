// The /doc page of Flask-Events: the filter box and the "try it" panels.
// Served by the blueprint itself; no other script is loaded.
(function () {
  "use strict";

  var eventsUrl = document.body.getAttribute("data-events-url");

  // -- filter ------------------------------------------------------------------------
  var filter = document.getElementById("filter");
  if (filter) {
    filter.addEventListener("input", function () {
      var query = filter.value.trim().toLowerCase();
      var shown = 0;
      document.querySelectorAll("#toc li, section.event").forEach(function (node) {
        var match = node.getAttribute("data-name").toLowerCase().indexOf(query) !== -1;
        node.hidden = !match;
        if (match && node.tagName === "SECTION") { shown += 1; }
      });
      document.getElementById("no-match").hidden = shown !== 0;
    });
  }

  // -- try it ------------------------------------------------------------------------
  function show(form, state, text, body) {
    var status = form.querySelector(".status");
    var output = form.querySelector(".response");
    form.setAttribute("data-state", state);
    status.textContent = text;
    output.textContent = body;
    output.hidden = body === "";
  }

  document.querySelectorAll("form.try").forEach(function (form) {
    form.addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      var text = form.querySelector("textarea").value;
      try {
        JSON.parse(text);
      } catch (error) {
        show(form, "invalid", "Not JSON: " + error.message, "");
        return;
      }
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
            var event = JSON.parse(body);
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
