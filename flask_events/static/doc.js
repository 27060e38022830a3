// The /doc page of Flask-Events: the filter box (try.js holds the "try it" panels).
// Served by the blueprint itself, as is try.js; nothing comes from elsewhere.
(function () {
  "use strict";

  // -- filter ------------------------------------------------------------------------
  // Each section carries its search text (name, doc text, field names; lowercase) in
  // data-search, rendered by the server; a section shows when its text contains the
  // typed text. The sections and their table-of-contents entries are collected once;
  // a keystroke only compares strings and writes `hidden` where it changes (no layout
  // is read), so the browser lays the page out once per keystroke.
  var filter = document.getElementById("filter");
  if (!filter) { return; }

  var tocItems = {};
  document.querySelectorAll("nav li").forEach(function (item) {
    var link = item.querySelector("a");
    if (link) { tocItems[link.getAttribute("href").slice(1)] = item; }
  });
  var entries = [];
  document.querySelectorAll("main section.event, main section.push").forEach(function (section) {
    entries.push({
      section: section,
      item: tocItems[section.id] || null,
      text: (section.getAttribute("data-search") || "").replace(/\s+/g, " "),
      push: section.classList.contains("push"),
      shown: true
    });
  });
  var pushHeadings = document.querySelectorAll(".pushes");
  var noMatch = document.getElementById("no-match");

  filter.addEventListener("input", function () {
    var query = filter.value.trim().toLowerCase().replace(/\s+/g, " ");
    var shown = 0, shownPushes = 0;
    for (var i = 0; i < entries.length; i++) {
      var entry = entries[i];
      var match = entry.text.indexOf(query) !== -1;
      if (match !== entry.shown) {
        entry.shown = match;
        entry.section.hidden = !match;
        if (entry.item) { entry.item.hidden = !match; }
      }
      if (match) {
        shown += 1;
        if (entry.push) { shownPushes += 1; }
      }
    }
    for (var h = 0; h < pushHeadings.length; h++) {
      pushHeadings[h].hidden = shownPushes === 0;
    }
    noMatch.hidden = shown !== 0;
  });
})();
