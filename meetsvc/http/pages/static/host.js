// The host console: the meeting's waiting list, live. Names are set with textContent only,
// so a name or message holding markup shows as text and never runs.
//
// The lists are redrawn whenever someone arrives or moves. A redraw keeps what the host was
// doing: the message being written to each person, and the keyboard focus (on the same control,
// or on the person's name when that control has gone, e.g. after "Admit").
(function () {
  "use strict";
  var root = document.getElementById("host");
  // On the video page the meeting id comes from the credential (set by video.js), and only for
  // a host; without one this page has no host panel.
  if (!root || typeof io === "undefined" || !root.dataset.meetingId) { return; }
  var texts = JSON.parse(document.getElementById("host-texts").textContent);
  var meetingId = root.dataset.meetingId;
  var people = {};
  var notes = {};
  var drafts = {};
  var acted = {};
  var socket = io("/host", { auth: { meeting_id: meetingId }, transports: ["websocket"] });
  var lists = { waiting: document.getElementById("waiting"), inside: document.getElementById("inside"),
                others: document.getElementById("others") };
  var announcer = document.getElementById("announce");
  var feedback = document.getElementById("host-feedback");

  // What a click did, seen as well as heard: "The message is sent.", "Nobody matched."
  function tell(text) {
    feedback.textContent = text;
    feedback.hidden = false;
    announce(text);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function nameOf(p) { return p.verified ? p.verified_name : p.invited_name; }

  function announce(text) {
    // Emptied first, so the same words said twice are read twice.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function button(label, action, p, cls) {
    // The visible word, and for a screen reader also whom it is for ("Admit – Kim Andersson").
    var b = el("button", cls || "", label);
    b.type = "button";
    b.dataset.key = action + ":" + p.participant_id;
    b.appendChild(el("span", "visually-hidden", " – " + nameOf(p)));
    b.addEventListener("click", function () {
      acted[p.participant_id] = true;
      socket.emit(action, { participant_id: p.participant_id });
    });
    return b;
  }

  function waited(since) {
    if (!since) { return ""; }
    var minutes = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 60000));
    return texts["host.waited"] + ": " + minutes + " min";
  }

  function messageForm(p) {
    var id = "message-" + p.participant_id;
    var form = el("form", "inline");
    var label = el("label", "", texts["host.message_to"].replace("{name}", nameOf(p)));
    label.htmlFor = id;
    var input = el("input");
    input.id = id; input.maxLength = 500; input.autocomplete = "off";
    input.dataset.key = "message:" + p.participant_id;
    input.value = drafts[p.participant_id] || "";
    input.addEventListener("input", function () { drafts[p.participant_id] = input.value; });
    var send = el("button", "secondary", texts["host.message"]);
    send.type = "submit";
    send.dataset.key = "send:" + p.participant_id;
    form.appendChild(label); form.appendChild(input); form.appendChild(send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!input.value.trim()) { return; }
      socket.emit("message", { participant_id: p.participant_id, text: input.value }, function (answer) {
        if (answer && answer.ok) { tell(texts["host.message_sent"]); }
      });
      input.value = ""; delete drafts[p.participant_id];
    });
    return form;
  }

  function item(p) {
    var li = el("li", "person");
    var heading = el("h3", "name", nameOf(p));
    heading.tabIndex = -1;
    heading.dataset.key = "person:" + p.participant_id;
    li.appendChild(heading);
    li.appendChild(el("p", "", texts["host.invited_as"] + ": " + p.invited_name + " · " +
      (texts["role." + p.role] || p.role) + (p.organisation ? " · " + p.organisation : "")));
    if (!p.verified) { li.appendChild(el("p", "badge warn", texts["host.not_verified"])); }
    else if (p.matches_invitation === true) { li.appendChild(el("p", "badge ok", texts["host.match"])); }
    else if (p.matches_invitation === false) { li.appendChild(el("p", "badge warn", texts["host.mismatch"])); }
    else { li.appendChild(el("p", "badge", texts["host.no_expectation"])); }
    if (p.verified && p.identified_with) {
      // Which eID vouched for the person, and at what level (Freja's extended level is no level 3).
      var how = (texts["host.method." + p.identified_with] || p.identified_with) + " · " +
        (texts["host.loa." + p.level_of_assurance] || p.level_of_assurance);
      var eid = el("p", p.level_of_assurance === "loa3" ? "badge eid" : "badge eid warn", how);
      eid.dataset.eid = p.identified_with;
      li.appendChild(eid);
    }
    (notes[p.participant_id] || []).forEach(function (n) {
      var box = el("div", "notice message note");
      box.appendChild(el("p", "note-from", texts["host.note_from"].replace("{name}", nameOf(p))));
      box.appendChild(el("p", "note-text", n.text));
      li.appendChild(box);
    });
    var actions = el("p", "actions");
    if (p.state === "waiting") {
      li.appendChild(el("p", "", waited(p.waiting_since)));
      actions.appendChild(button(texts["host.admit"], "admit", p));
      actions.appendChild(button(texts["host.deny"], "deny", p, "secondary"));
      actions.appendChild(button(texts["host.remove"], "remove", p, "secondary"));
      li.appendChild(actions);
      li.appendChild(messageForm(p));
    } else if (p.state === "admitted" || p.state === "in_meeting") {
      li.appendChild(el("p", "", texts["state." + p.state] || p.state));
      actions.appendChild(button(texts["host.send_back"], "send_back", p, "secondary"));
      actions.appendChild(button(texts["host.remove"], "remove", p, "secondary"));
      li.appendChild(actions);
    } else {
      li.appendChild(el("p", "", texts["state." + p.state] || p.state));
      if (p.state === "denied" || p.state === "removed") {
        actions.appendChild(button(texts["host.admit"], "admit", p, "secondary"));
        li.appendChild(actions);
      }
    }
    return li;
  }

  function listOf(p) {
    if (p.state === "waiting") { return "waiting"; }
    if (p.state === "admitted" || p.state === "in_meeting") { return "inside"; }
    return "others";
  }

  function render() {
    var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    Object.keys(lists).forEach(function (k) { lists[k].replaceChildren(); });
    var waitingCount = 0;
    Object.keys(people).map(function (k) { return people[k]; })
      .sort(function (a, b) { return (a.waiting_since || "").localeCompare(b.waiting_since || ""); })
      .forEach(function (p) {
        var list = listOf(p);
        if (list === "waiting") { waitingCount += 1; }
        lists[list].appendChild(item(p));
      });
    document.getElementById("waiting-count").textContent = "(" + waitingCount + ")";
    root.dispatchEvent(new CustomEvent("waiting-count", { detail: waitingCount }));
    document.getElementById("none-waiting").hidden = waitingCount > 0;
    document.getElementById("none-inside").hidden = lists.inside.children.length > 0;
    if (focused) {
      var again = root.querySelector('[data-key="' + focused + '"]') ||
        root.querySelector('[data-key="person:' + focused.split(":")[1] + '"]');
      if (again) { again.focus(); }
    }
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
    var text = texts["host.arrival"].replace("{name}", nameOf(p));
    announce(text);
    chime();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      new Notification(text);
    }
  }

  function showSettings(m) {
    var lock = document.getElementById("lock"), positions = document.getElementById("positions");
    lock.checked = m.locked; lock.disabled = false;
    positions.checked = m.show_queue_position; positions.disabled = false;
  }

  socket.on("connect", function () {
    socket.emit("list", {}, function (answer) {
      if (!answer || !answer.ok) { return; }
      people = {};
      answer.participants.forEach(function (p) { people[p.participant_id] = p; });
      showSettings(answer.meeting);
      render();
      socket.emit("notes", {}, function (listed) {
        if (!listed || !listed.ok) { return; }
        notes = {};
        listed.notes.forEach(function (n) { (notes[n.participant_id] = notes[n.participant_id] || []).push(n); });
        render();
      });
    });
  });
  socket.on("note", function (n) {
    var list = (notes[n.participant_id] = notes[n.participant_id] || []);
    list.push(n);
    if (list.length > 3) { list.shift(); }
    var p = people[n.participant_id];
    tell(texts["host.note_arrived"].replace("{name}", p ? nameOf(p) : ""));
    chime();
    render();
  });
  socket.on("participant", function (p) {
    var before = people[p.participant_id];
    people[p.participant_id] = p;
    if (p.state === "waiting" && (!before || before.state !== "waiting")) { arrived(p); }
    else if (acted[p.participant_id] && before && before.state !== p.state) {
      // The outcome of this host's own click, said aloud: "Kim Andersson: Admitted".
      delete acted[p.participant_id];
      announce(nameOf(p) + ": " + (texts["state." + p.state] || p.state));
    }
    render();
  });
  socket.on("meeting", showSettings);
  socket.on("signed_out", function () {
    // Deactivated: the session has ended, so nothing more is shown or sent from here.
    socket.disconnect();
    var host = document.getElementById("host");
    while (host.firstChild) { host.removeChild(host.firstChild); }
    var notice = el("p", "notice error", texts["host.signed_out"]);
    notice.setAttribute("role", "alert");
    host.appendChild(notice);
  });
  socket.on("credential", function (credential) { window.open(credential.join_url, "_blank", "noopener"); });

  document.getElementById("admit-all").addEventListener("click", function () {
    socket.emit("admit_all_matching", {}, function (answer) {
      if (!answer || !answer.ok) { return; }
      tell(answer.admitted.length ? texts["host.admit_all_done"].replace("{count}", String(answer.admitted.length))
        : texts["host.admit_all_none"]);
    });
  });
  document.getElementById("lock").addEventListener("change", function (e) { socket.emit("configure", { locked: e.target.checked }); });
  document.getElementById("positions").addEventListener("change", function (e) { socket.emit("configure", { show_queue_position: e.target.checked }); });
  document.getElementById("end").addEventListener("click", function () {
    if (window.confirm(texts["host.end_confirm"])) { socket.emit("end", {}); }
  });
  var joinVideo = document.getElementById("join-video");
  if (joinVideo) { joinVideo.addEventListener("click", function () { socket.emit("join_video", {}); }); }
  document.getElementById("message-all").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("message-all-text");
    if (!input.value.trim()) { return; }
    socket.emit("message", { text: input.value }, function (answer) {
      if (answer && answer.ok) { tell(texts["host.message_sent"]); }
    });
    input.value = "";
  });
  if (window.Notification && Notification.permission === "default") {
    document.addEventListener("click", function ask() { Notification.requestPermission(); document.removeEventListener("click", ask); });
  }
  window.setInterval(render, 60000);
}());
