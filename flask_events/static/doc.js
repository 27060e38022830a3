// The /doc page of Flask-Events: the filter box (try.js holds the "try it" panels).
// Served by the blueprint itself, as is try.js; nothing comes from elsewhere.
(function () {
  "use strict";

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
})();
