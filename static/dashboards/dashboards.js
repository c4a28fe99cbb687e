// Keyboard users keep their place: after an action swaps a part of the page (an order's row, the
// arrivals), focus moves to the first button of the new part, or to its first link. Polls (GET)
// never move the focus.
(function () {
  var pending = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig || {};
    pending = config.verb === "post" && event.detail.target ? event.detail.target.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var part = document.getElementById(pending);
    pending = null;
    if (!part) return;
    var next = part.querySelector("button") || part.querySelector("a[href]");
    if (next) next.focus();
  });
})();
