// Progressive enhancement only: every page works without this file or htmx.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  // htmx requests that change something carry the session's CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta && event.detail && event.detail.headers) {
      event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
    }
  });
  // <form data-confirm="…">: ask before sending.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
