// Progressive enhancement only: every page works without this file.
// "Copy link" buttons copy their data-copy text; "Print" buttons open the print dialog; the
// write page's coach follows the typing (below).
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var said = button.parentElement.querySelector(".copied");
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      if (said) said.textContent = button.dataset.copied || "Link copied.";
    });
  });
});
document.querySelectorAll("button[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});

// Progressive enhancement of the write page's personalization coach: the server already
// wrote its first figures under each message (and "Check my message" works without this
// file). Here they follow the visitor's typing: after a pause, the text goes to the page's
// coach endpoint, which answers the figures (it alone can compare with today's messages,
// which never reach the browser). Nothing typed is kept by the server.
(function () {
  var form = document.querySelector("form[data-coach-url]");
  if (!form || !window.fetch) return;
  var url = form.dataset.coachUrl;
  var token = form.querySelector("input[name=csrf_token]");
  var PAUSE_MS = 700;

  function show(box, sentences) {
    var paragraphs = sentences.map(function (sentence) {
      var p = document.createElement("p");
      p.textContent = sentence;
      return p;
    });
    box.replaceChildren.apply(box, paragraphs);
  }

  form.querySelectorAll("textarea[data-coach]").forEach(function (area) {
    var box = document.getElementById(area.dataset.coach);
    var timer = null;
    var asked = area.value;
    var latest = 0;
    function ask() {
      if (area.value === asked) return;
      asked = area.value;
      var mine = ++latest;
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": token ? token.value : ""
        },
        body: JSON.stringify({ field: area.name, text: area.value })
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      }).then(function (answer) {
        if (mine === latest && box) show(box, answer.sentences);
      }).catch(function () {
        // The figures stay as they were; the message is sent all the same.
        asked = null;
      });
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, PAUSE_MS);
    });
  });
})();

// The action inside a partner's frame (templates/embed_base.html): tell the partner's page
// how tall this document is, whenever that changes, so its static/embed.js sizes the frame
// to fit. Only a height is sent, so any page that frames us may read it; the frame's own
// Content-Security-Policy (frame-ancestors) decides which pages may.
(function () {
  if (!document.documentElement.hasAttribute("data-embedded") || window.parent === window) return;
  var last = 0;
  function tell() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "advocacy-embed:height", height: height }, "*");
  }
  if (window.ResizeObserver) new ResizeObserver(tell).observe(document.documentElement);
  window.addEventListener("load", tell);
  tell();
})();
