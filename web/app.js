// Small enhancements; every page works without this file.
// Live preview on the messages page: fills the placeholders with the sample values as you type.
(function () {
  "use strict";
  var samples = {};
  document.querySelectorAll("[data-sample]").forEach(function (el) {
    samples[el.getAttribute("data-sample")] = el.textContent;
  });
  function render(text) {
    return text.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(samples, name) ? samples[name] : m;
    });
  }
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var target = document.getElementById(area.getAttribute("data-preview"));
    if (!target) return;
    area.addEventListener("input", function () {
      target.textContent = render(area.value);
    });
  });
})();
