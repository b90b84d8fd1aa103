// Live status of an identification: the server computes each second's QR string (only it
// holds the secret) and the message for the current hint code; this fetches them each second
// and draws the QR code here, in the browser (qrcode-generator, from the npm registry). The
// first frame, and every frame without JavaScript, is drawn by the server. It polls only while
// the identification is pending: a finished page stays still (no reloading under a screen
// reader, no lost click), and is left once, when the state changes.
(function () {
  "use strict";
  var root = document.getElementById("identify");
  if (!root || root.dataset.state !== "pending") { return; }
  var message = document.getElementById("message");
  var qr = document.getElementById("qr");
  var frame = 0;

  // This second's code as an SVG image, with the quiet zone of four modules the standard asks;
  // the server's drawing if the library did not load.
  function draw(data) {
    frame += 1;
    if (typeof window.qrcode !== "function") { qr.src = "/identify/qr.svg?frame=" + frame; return; }
    var code = window.qrcode(0, "L");
    code.addData(data);
    code.make();
    qr.src = "data:image/svg+xml," + encodeURIComponent(code.createSvgTag({ cellSize: 6, margin: 24 }));
    qr.dataset.frame = String(frame);
  }

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
          if (qr && status.qr_data) { draw(status.qr_data); }
          window.setTimeout(tick, 1000);
        } else {
          window.location.assign(status.state === "complete" ? root.dataset.doneUrl : window.location.pathname);
        }
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 1000);
}());
