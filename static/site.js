// Progressive enhancement only: every page works without this file.
// "Copy link" buttons copy their data-copy text; "Print" buttons open the print dialog.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var said = button.parentElement.querySelector(".copied");
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      if (said) said.textContent = "Link copied.";
    });
  });
});
document.querySelectorAll("button[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
