// A note from the waiting room to the hosts, on the waiting room's own connection. The text is
// sent as text; the page says plainly whether it went.
(function () {
  "use strict";
  var form = document.getElementById("note-form");
  if (!form) { return; }
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var input = document.getElementById("note-text");
  var said = document.getElementById("note-status");
  var socket = null;
  document.addEventListener("lobby-socket", function (event) { socket = event.detail; });
  var answers = { "too-many-notes": "note.too_many", "not-waiting": "note.not_waiting" };
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    if (!socket || !socket.connected) { said.textContent = texts["lobby.reconnecting"]; return; }
    socket.emit("note", { text: text }, function (answer) {
      if (answer && answer.ok) {
        input.value = "";
        said.textContent = texts["note.sent"];
      } else {
        said.textContent = texts[answers[answer && answer.error] || "note.failed"];
      }
    });
  });
}());
