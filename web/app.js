// Small enhancements; every page works without this file.
document.documentElement.classList.remove("no-js");
// Live preview on the messages page: renders the copy with the sample values as you type,
// exactly as the server does (src/domain/copy.cpp, src/view/format.cpp).
(function () {
  "use strict";
  var samples = {};
  document.querySelectorAll("[data-sample]").forEach(function (el) {
    samples[el.getAttribute("data-sample")] = el.textContent;
  });
  function truthy(name) {
    var v = Object.prototype.hasOwnProperty.call(samples, name) ? samples[name] : "";
    return v !== "" && v !== "0";
  }
  // As domain::render_template: placeholders and {{#x}}/{{^x}} sections.
  function render(text) {
    var out = "", open = [], i = 0;
    function keeping() { return open.every(function (o) { return o.keep; }); }
    while (i < text.length) {
      var at = text.indexOf("{{", i), close = at < 0 ? -1 : text.indexOf("}}", at + 2);
      if (close < 0) { if (keeping()) out += text.slice(i); break; }
      if (keeping()) out += text.slice(i, at);
      var tag = text.slice(at + 2, close).trim(), whole = text.slice(at, close + 2);
      i = close + 2;
      if (tag[0] === "#" || tag[0] === "^") {
        var on = truthy(tag.slice(1).trim());
        open.push({ name: tag.slice(1).trim(), keep: tag[0] === "#" ? on : !on });
      } else if (tag[0] === "/") {
        if (open.length && open[open.length - 1].name === tag.slice(1).trim()) open.pop();
        else if (keeping()) out += whole;
      } else if (keeping()) {
        out += Object.prototype.hasOwnProperty.call(samples, tag) ? samples[tag] : whole;
      }
    }
    return out;
  }
  function esc(s) {
    return s.replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    }).replace(/\r/g, "").replace(/\n/g, "<br>\n");
  }
  function isWord(c) { return /[A-Za-z0-9]/.test(c || ""); }
  function startsUrl(s, i) { return s.startsWith("https://", i) || s.startsWith("http://", i); }
  function link(url, inner) { return '<a href="' + esc(url) + '" rel="nofollow noopener">' + inner + "</a>"; }
  // As view::markdown_html: the subset a Whop DM shows, everything else escaped.
  function markdown(s) {
    var out = "", i = 0;
    while (i < s.length) {
      var ch = s[i], end, nl;
      if (s.startsWith("**", i)) {
        end = s.indexOf("**", i + 2);
        if (end > i + 2 && s[i + 2] !== " ") { out += "<strong>" + markdown(s.slice(i + 2, end)) + "</strong>"; i = end + 2; continue; }
      }
      if ((ch === "*" || ch === "_") && i + 1 < s.length && s[i + 1] !== " " && s[i + 1] !== ch &&
          (ch === "*" || i === 0 || !isWord(s[i - 1]))) {
        end = s.indexOf(ch, i + 1); nl = s.indexOf("\n", i + 1);
        if (end >= 0 && (nl < 0 || end < nl) && s[end - 1] !== " " && (ch === "*" || end + 1 >= s.length || !isWord(s[end + 1]))) {
          out += "<em>" + markdown(s.slice(i + 1, end)) + "</em>"; i = end + 1; continue;
        }
      }
      if (ch === "[") {
        var mid = s.indexOf("](", i + 1); nl = s.indexOf("\n", i + 1);
        if (mid >= 0 && (nl < 0 || mid < nl) && startsUrl(s, mid + 2)) {
          end = s.indexOf(")", mid + 2);
          var u = end < 0 ? "" : s.slice(mid + 2, end);
          if (u && !/[ \n\t]/.test(u)) { out += link(u, markdown(s.slice(i + 1, mid))); i = end + 1; continue; }
        }
      }
      if (startsUrl(s, i) && (i === 0 || !isWord(s[i - 1]))) {
        end = i; while (end < s.length && !/[ \t\r\n<>"]/.test(s[end])) end++;
        while (end > i && ".,;:!?)'".indexOf(s[end - 1]) >= 0) end--;
        out += link(s.slice(i, end), esc(s.slice(i, end))); i = end; continue;
      }
      out += esc(ch); i++;
    }
    return out;
  }
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var target = document.getElementById(area.getAttribute("data-preview"));
    if (!target) return;
    var md = area.getAttribute("data-format") === "markdown";
    area.addEventListener("input", function () {
      target.innerHTML = md ? markdown(render(area.value)) : esc(render(area.value));
    });
  });
})();

// Lists: a select marked data-autosubmit applies on change (the form's button does the same
// without this script).
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () {
      if (sel.form) sel.form.submit();
    });
  });
})();

// Phone: the navigation folds behind the Menu button (without this script it stays open).
(function () {
  "use strict";
  var btn = document.querySelector(".nav-toggle");
  var header = document.querySelector("header.top");
  if (!btn || !header) return;
  btn.addEventListener("click", function () {
    var open = header.classList.toggle("nav-open");
    btn.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
