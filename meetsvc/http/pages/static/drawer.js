// The host's waiting list inside the video page: a drawer over the stage, opened from the
// controls, with a count of who is waiting. An arrival while it is closed is said aloud and the
// count is marked, so the leader can admit a late arrival without leaving the conversation.
(function () {
  "use strict";
  var drawer = document.getElementById("drawer");
  var host = document.getElementById("host");
  var toggle = document.getElementById("drawer-toggle");
  if (!drawer || !host || !toggle) { return; }
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var count = document.getElementById("drawer-count");
  var alert = document.getElementById("drawer-alert");
  var closeButton = document.getElementById("drawer-close");
  var last = 0;

  function open(yes) {
    drawer.hidden = !yes;
    toggle.setAttribute("aria-expanded", String(yes));
    document.body.classList.toggle("drawer-open", yes);
    if (yes) { toggle.classList.remove("alert"); document.getElementById("drawer-heading").focus(); }
    else { toggle.focus(); }
  }
  document.getElementById("drawer-heading").tabIndex = -1;
  toggle.addEventListener("click", function () { open(drawer.hidden); });
  closeButton.addEventListener("click", function () { open(false); });
  drawer.addEventListener("keydown", function (e) { if (e.key === "Escape") { open(false); } });

  // host.js says how many wait after every change; the first time means its socket was let in.
  host.addEventListener("waiting-count", function (event) {
    var n = event.detail;
    toggle.hidden = false;
    count.textContent = String(n);
    if (n > last && drawer.hidden) {
      toggle.classList.add("alert");
      alert.textContent = texts["video.count"].replace("{count}", String(n));
    }
    if (n === 0) { toggle.classList.remove("alert"); }
    last = n;
  });
}());
