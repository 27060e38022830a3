// The /doc page of Flask-Events: the details fetched on demand and the filter box
// (try.js holds the "try it" panels and the Copy buttons).
// Served by the blueprint itself, as is try.js; nothing comes from elsewhere.
(function () {
  "use strict";

  // -- details fetched on demand -----------------------------------------------------
  // Above EVENTS_DOC_INLINE_MAX events, a section holds its header and a placeholder
  // (div.body[data-body-url], aria-busy) linking to its details; the details replace
  // it when the section nears the viewport, when its anchor is navigated to, or when
  // the focus enters it (its header link, reached with Tab).
  var FOCUSABLE = "a[href], button, input, textarea, select, summary, [tabindex]";

  function load(section) {
    var holder = section && section.querySelector(":scope > .body[data-body-url]");
    if (!holder || holder.getAttribute("data-state") === "loading") { return; }
    holder.setAttribute("data-state", "loading");
    fetch(holder.getAttribute("data-body-url"), { headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (text) {
        var template = document.createElement("template");
        template.innerHTML = text;
        var body = template.content.querySelector(".body");
        if (!body) { throw new Error("no details in the answer"); }
        var hadFocus = holder.contains(document.activeElement);
        holder.replaceWith(body);
        if (observer) { observer.unobserve(section); }
        if (hadFocus) {
          var first = body.querySelector(FOCUSABLE);
          if (first) { first.focus(); }
        }
        if (!scrolled && hashTarget() === section) { section.scrollIntoView(); }
      }).catch(function (error) {
        holder.removeAttribute("data-state");  // tried again at the next occasion
        holder.setAttribute("aria-busy", "false");
        var note = holder.querySelector(".failed");
        if (!note) {
          note = holder.appendChild(document.createElement("p"));
          note.className = "failed";
        }
        note.textContent = "Not loaded (" + error.message + "): the link shows the details.";
      });
  }

  // The section the URL's fragment names (as written in the href, or decoded).
  function hashTarget() {
    var id = location.hash.slice(1);
    if (!id) { return null; }
    var found = document.getElementById(id);
    if (!found) {
      try { found = document.getElementById(decodeURIComponent(id)); } catch (error) {}
    }
    return found && found.closest("main section");
  }

  var observer = null;
  var lazy = document.querySelectorAll("main section > .body[data-body-url]");
  if (lazy.length) {
    var linked = hashTarget();  // scrolled to now, so that the sections above stay put
    if (linked) { linked.scrollIntoView(); }
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(function (seen) {
        seen.forEach(function (entry) {
          if (entry.isIntersecting) { load(entry.target); }
        });
      }, { rootMargin: "200px 0px" });
      lazy.forEach(function (holder) { observer.observe(holder.parentNode); });
    } else {
      lazy.forEach(function (holder) { load(holder.parentNode); });
    }
    document.addEventListener("focusin", function (event) {
      var section = event.target.closest && event.target.closest("main section");
      if (section) { load(section); }
    });
    // once the reader scrolls, a late body no longer pulls the linked section back
    var scrolled = false;
    window.addEventListener("wheel", function () { scrolled = true; }, { once: true });
    window.addEventListener("keydown", function () { scrolled = true; }, { once: true });
    window.addEventListener("hashchange", function () {
      scrolled = false;
      load(hashTarget());
    });
    load(linked);
  }

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
