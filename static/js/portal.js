// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // GOV.UK pattern: move focus to the error summary so screen readers announce it first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
    // A photo over the size limit is refused before it is sent (the server refuses it too).
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      input.addEventListener("change", function () {
        var max = parseInt(input.dataset.maxBytes, 10);
        var big = Array.prototype.some.call(input.files || [], function (f) { return f.size > max; });
        var id = input.id + "-size-error";
        var shown = document.getElementById(id);
        var described = (input.getAttribute("aria-describedby") || "").replace(id, "").trim();
        if (shown) { shown.remove(); }
        input.setAttribute("aria-describedby", big ? (described + " " + id).trim() : described);
        if (!big) { input.removeAttribute("aria-invalid"); return; }
        var p = document.createElement("p");
        p.id = id; p.className = "error-message"; p.setAttribute("role", "alert");
        p.textContent = input.dataset.tooLarge;
        input.parentNode.insertBefore(p, input);
        input.setAttribute("aria-invalid", "true");
        input.value = "";
      });
    });
  });
})();
