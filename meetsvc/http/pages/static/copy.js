// A copy button beside text shown once (a personal link): shown only where the clipboard can be
// written; says so when it worked.
(function () {
  "use strict";
  document.querySelectorAll("button.copy").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copy).textContent.trim();
      var said = button.parentNode.querySelector(".copied");
      navigator.clipboard.writeText(text).then(function () { said.textContent = button.dataset.copied; });
    });
  });
})();
