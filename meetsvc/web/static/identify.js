// Live status of an identification: the server computes each second's QR code and the
// message for the current hint code; this only fetches and shows them.
(function () {
  "use strict";
  var root = document.getElementById("identify");
  if (!root) { return; }
  var message = document.getElementById("message");
  var qr = document.getElementById("qr");
  var frame = 0;
  var lastState = null;

  function tick() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        if (message.textContent !== status.message) { message.textContent = status.message; }
        if (status.state === "pending") {
          if (qr && status.qr_data) { frame += 1; qr.src = "/identify/qr.svg?frame=" + frame; }
          window.setTimeout(tick, 1000);
        } else if (status.state !== lastState) {
          window.location.assign(status.state === "complete" ? root.dataset.doneUrl : window.location.pathname);
        }
        lastState = status.state;
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 1000);
}());
