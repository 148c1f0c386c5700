// For a partner's page that shows an action of this site in an <iframe> (the snippet on the
// campaign's staff page). The action's pages say their height (static/site.js); this sizes
// each of our frames to fit, so the page has no inner scroll bar. It listens only to
// messages from this script's own site and from one of our frames. Without it, or without
// JavaScript, the frame keeps the fixed height of its height attribute.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.URL || !window.addEventListener) return;
  var site = new URL(script.src, document.baseURI).origin;
  window.addEventListener("message", function (event) {
    if (event.origin !== site) return;
    var data = event.data;
    if (!data || data.type !== "advocacy-embed:height") return;
    var height = Number(data.height);
    if (!isFinite(height) || height < 50 || height > 20000) return;
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].setAttribute("height", String(Math.ceil(height)));
        return;
      }
    }
  });
})();
