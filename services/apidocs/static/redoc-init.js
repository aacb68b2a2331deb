// Starts ReDoc on #redoc. A file of its own (not inline) so that the page's Content-Security-Policy
// keeps script-src to 'self'.
"use strict";
(function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.getAttribute("data-openapi-url"), {}, root);
})();
