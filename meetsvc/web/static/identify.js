// Live status of an identification: the server computes each second's QR code and the
// message for the current hint code; this only fetches and shows them. It polls only while
// the identification is pending: a finished page stays still (no reloading under a screen
// reader, no lost click), and is left once, when the state changes.
(function () {
  "use strict";
  var root = document.getElementById("identify");
  if (!root || root.dataset.state !== "pending") { return; }
  var message = document.getElementById("message");
  var qr = document.getElementById("qr");
  var frame = 0;

  function tick() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        // Expired or gone: the page itself says what happened and what to do next.
        if (response.status === 401 || response.status === 404) { window.location.assign(window.location.pathname); return null; }
        if (!response.ok) { window.setTimeout(tick, 2000); return null; }
        return response.json();
      })
      .then(function (status) {
        if (!status) { return; }
        if (status.state === "pending") {
          if (message.textContent !== status.message) { message.textContent = status.message; }
          if (qr && status.qr_data) { frame += 1; qr.src = "/identify/qr.svg?frame=" + frame; }
          window.setTimeout(tick, 1000);
        } else {
          window.location.assign(status.state === "complete" ? root.dataset.doneUrl : window.location.pathname);
        }
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 1000);
}());
