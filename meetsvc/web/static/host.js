// The host console: the meeting's waiting list, live. Names are set with textContent only,
// so a name or message holding markup shows as text and never runs.
(function () {
  "use strict";
  var root = document.getElementById("host");
  if (!root || typeof io === "undefined") { return; }
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var meetingId = root.dataset.meetingId;
  var people = {};
  var socket = io("/host", { auth: { meeting_id: meetingId }, transports: ["websocket"] });
  var lists = { waiting: document.getElementById("waiting"), inside: document.getElementById("inside"),
                others: document.getElementById("others") };
  var announce = document.getElementById("announce");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function button(label, action, id, cls) {
    var b = el("button", cls || "", label);
    b.type = "button";
    b.addEventListener("click", function () { socket.emit(action, { participant_id: id }); });
    return b;
  }

  function waited(since) {
    if (!since) { return ""; }
    var minutes = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 60000));
    return texts["host.waited"] + ": " + minutes + " min";
  }

  function render() {
    Object.keys(lists).forEach(function (k) { lists[k].replaceChildren(); });
    var waitingCount = 0;
    Object.keys(people).map(function (k) { return people[k]; })
      .sort(function (a, b) { return (a.waiting_since || "").localeCompare(b.waiting_since || ""); })
      .forEach(function (p) {
        var item = el("li", "person");
        var name = el("p", "name", p.verified ? p.verified_name : p.invited_name);
        item.appendChild(name);
        var facts = el("p", "facts-line");
        facts.appendChild(el("span", "", texts["host.invited_as"] + ": " + p.invited_name + " · " + (texts["role." + p.role] || p.role) + (p.organisation ? " · " + p.organisation : "")));
        item.appendChild(facts);
        var badge;
        if (!p.verified) { badge = el("p", "badge warn", texts["host.not_verified"]); }
        else if (p.matches_invitation === true) { badge = el("p", "badge ok", texts["host.match"]); }
        else if (p.matches_invitation === false) { badge = el("p", "badge warn", texts["host.mismatch"]); }
        else { badge = el("p", "badge", texts["host.no_expectation"]); }
        item.appendChild(badge);
        var actions = el("p", "actions");
        if (p.state === "waiting") {
          waitingCount += 1;
          item.appendChild(el("p", "", waited(p.waiting_since)));
          actions.appendChild(button(texts["host.admit"], "admit", p.participant_id));
          actions.appendChild(button(texts["host.deny"], "deny", p.participant_id, "secondary"));
          actions.appendChild(button(texts["host.remove"], "remove", p.participant_id, "secondary"));
          var form = el("form", "inline");
          var input = el("input"); input.maxLength = 500; input.setAttribute("aria-label", texts["host.message"] + " – " + name.textContent);
          var send = el("button", "secondary", texts["host.message"]); send.type = "submit";
          form.appendChild(input); form.appendChild(send);
          form.addEventListener("submit", function (event) {
            event.preventDefault();
            if (input.value.trim()) { socket.emit("message", { participant_id: p.participant_id, text: input.value }); input.value = ""; }
          });
          item.appendChild(actions); item.appendChild(form);
          lists.waiting.appendChild(item);
        } else if (p.state === "admitted" || p.state === "in_meeting") {
          actions.appendChild(button(texts["host.send_back"], "send_back", p.participant_id, "secondary"));
          actions.appendChild(button(texts["host.remove"], "remove", p.participant_id, "secondary"));
          item.appendChild(actions);
          lists.inside.appendChild(item);
        } else {
          item.appendChild(el("p", "", texts["state." + p.state] || p.state));
          if (p.state === "denied" || p.state === "removed") {
            actions.appendChild(button(texts["host.admit"], "admit", p.participant_id, "secondary"));
            item.appendChild(actions);
          }
          lists.others.appendChild(item);
        }
      });
    document.getElementById("waiting-count").textContent = "(" + waitingCount + ")";
    document.getElementById("none-waiting").hidden = waitingCount > 0;
  }

  function chime() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator(); var gain = ctx.createGain();
      osc.frequency.value = 660; gain.gain.value = 0.1;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio: the visual and spoken alerts remain */ }
  }

  function arrived(p) {
    var text = texts["host.arrival"].replace("{name}", p.verified ? p.verified_name : p.invited_name);
    announce.textContent = text;
    chime();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      new Notification(text);
    }
  }

  socket.on("connect", function () {
    socket.emit("list", {}, function (answer) {
      if (!answer || !answer.ok) { return; }
      people = {};
      answer.participants.forEach(function (p) { people[p.participant_id] = p; });
      document.getElementById("lock").checked = answer.meeting.locked;
      document.getElementById("positions").checked = answer.meeting.show_queue_position;
      render();
    });
  });
  socket.on("participant", function (p) {
    var before = people[p.participant_id];
    people[p.participant_id] = p;
    if (p.state === "waiting" && (!before || before.state !== "waiting")) { arrived(p); }
    render();
  });
  socket.on("meeting", function (m) {
    document.getElementById("lock").checked = m.locked;
    document.getElementById("positions").checked = m.show_queue_position;
  });
  socket.on("credential", function (credential) { window.open(credential.join_url, "_blank", "noopener"); });

  document.getElementById("admit-all").addEventListener("click", function () { socket.emit("admit_all_matching", {}); });
  document.getElementById("lock").addEventListener("change", function (e) { socket.emit("configure", { locked: e.target.checked }); });
  document.getElementById("positions").addEventListener("change", function (e) { socket.emit("configure", { show_queue_position: e.target.checked }); });
  document.getElementById("end").addEventListener("click", function () {
    if (window.confirm(texts["host.end_confirm"])) { socket.emit("end", {}); }
  });
  document.getElementById("join-video").addEventListener("click", function () { socket.emit("join_video", {}); });
  document.getElementById("message-all").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("message-all-text");
    if (input.value.trim()) { socket.emit("message", { text: input.value }); input.value = ""; }
  });
  if (window.Notification && Notification.permission === "default") {
    document.addEventListener("click", function ask() { Notification.requestPermission(); document.removeEventListener("click", ask); });
  }
  window.setInterval(render, 60000);
}());
