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
  // One line per entry: one person, in one browser session, on one invitation. Two people who
  // opened the same link are two lines, each with its own verified name and badge.
  var people = {};
  var notes = {};
  var drafts = {};
  var acted = {};
  var ended = false;
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

  function keyOf(p) { return p.attendance_id || p.participant_id; }

  function clock(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + "." + ("0" + d.getMinutes()).slice(-2);
  }

  function presenceText(p) {
    var text = texts["host.presence." + p.presence] || "";
    return p.connection_lost_at ? text.replace("{time}", clock(p.connection_lost_at)) : text;
  }

  function announce(text) {
    // Emptied first, so the same words said twice are read twice.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function button(label, action, p, cls, extra) {
    // The visible word, and for a screen reader also whom it is for ("Admit – Kim Andersson").
    var b = el("button", cls || "", label);
    b.type = "button";
    b.dataset.key = action + ":" + keyOf(p);
    b.appendChild(el("span", "visually-hidden", " – " + nameOf(p)));
    b.disabled = ended;
    b.addEventListener("click", function () {
      acted[keyOf(p)] = true;
      var payload = { participant_id: p.participant_id, attendance_id: p.attendance_id };
      var more = extra ? extra() : {};
      Object.keys(more).forEach(function (k) { payload[k] = more[k]; });
      socket.emit(action, payload);
    });
    return b;
  }

  function waited(since) {
    if (!since) { return ""; }
    var minutes = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 60000));
    return texts["host.waited"] + ": " + minutes + " min";
  }

  function messageForm(p) {
    var id = "message-" + keyOf(p);
    var form = el("form", "inline");
    var label = el("label", "", texts["host.message_to"].replace("{name}", nameOf(p)));
    label.htmlFor = id;
    var input = el("input");
    input.id = id; input.maxLength = 500; input.autocomplete = "off";
    input.dataset.key = "message:" + keyOf(p);
    input.value = drafts[keyOf(p)] || "";
    input.addEventListener("input", function () { drafts[keyOf(p)] = input.value; });
    var send = el("button", "secondary", texts["host.message"]);
    send.type = "submit";
    send.dataset.key = "send:" + keyOf(p);
    form.appendChild(label); form.appendChild(input); form.appendChild(send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!input.value.trim()) { return; }
      socket.emit("message", { participant_id: keyOf(p), text: input.value }, function (answer) {
        if (answer && answer.ok) { tell(texts["host.message_sent"]); }
      });
      input.value = ""; delete drafts[keyOf(p)];
    });
    return form;
  }

  function item(p) {
    var li = el("li", "person");
    var heading = el("h3", "name", nameOf(p));
    heading.tabIndex = -1;
    heading.dataset.key = "person:" + keyOf(p);
    li.appendChild(heading);
    li.dataset.entry = keyOf(p);
    if (p.second_person) { li.appendChild(el("p", "badge warn second-person", texts["host.second_person"])); }
    if (p.presence) { li.appendChild(el("p", "presence", presenceText(p))); }
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
    if (p.state === "knocking") {
      actions.appendChild(button(texts["host.admit"], "admit", p));
      li.appendChild(actions);
    } else if (p.state === "waiting") {
      li.appendChild(el("p", "", waited(p.waiting_since)));
      actions.appendChild(button(texts["host.admit"], "admit", p));
      actions.appendChild(button(texts["host.deny"], "deny", p, "secondary"));
      actions.appendChild(button(texts["host.remove"], "remove", p, "secondary"));
      li.appendChild(actions);
      li.appendChild(messageForm(p));
    } else if (p.state === "admitted" || p.state === "in_meeting") {
      li.appendChild(el("p", "", texts["state." + p.state] || p.state));
      // An optional reason, shown on the person's page beside "wait, you will be let in again".
      var reasonId = "reason-" + keyOf(p);
      var reasonLabel = el("label", "", texts["host.send_back_reason"]);
      reasonLabel.htmlFor = reasonId;
      var reason = el("input");
      reason.id = reasonId; reason.maxLength = 500; reason.autocomplete = "off";
      reason.dataset.key = "reason:" + keyOf(p);
      reason.disabled = ended;
      // Kept like a message draft: a redraw (someone arriving, this person's video joining)
      // must not wipe a reason half typed.
      var reasonKey = "reason:" + keyOf(p);
      reason.value = drafts[reasonKey] || "";
      reason.addEventListener("input", function () { drafts[reasonKey] = reason.value; });
      li.appendChild(reasonLabel); li.appendChild(reason);
      actions.appendChild(button(texts["host.send_back"], "send_back", p, "secondary", function () {
        var text = reason.value.trim();
        delete drafts[reasonKey];
        return text ? { message: text } : {};
      }));
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
    if (p.ended) { return "others"; }
    // A closed tab is not waiting: "connection lost at hh.mm" while it may still come back,
    // then (after the service's grace) among the others; it returns when the page reconnects.
    if (p.state === "waiting" && p.presence === "gone") { return "others"; }
    if (p.state === "waiting" || p.state === "knocking") { return "waiting"; }
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
    ended = m.status === "ended" || m.status === "cancelled";
    lock.checked = m.locked; lock.disabled = ended;
    positions.checked = m.show_queue_position; positions.disabled = ended;
    // "Join the video" is only on the console: in the drawer the host is in the video already.
    ["admit-all", "end", "join-video"].forEach(function (id) {
      var control = document.getElementById(id);
      if (control) { control.disabled = ended; }
    });
    root.querySelectorAll("#message-all input, #message-all button").forEach(function (e) { e.disabled = ended; });
    var notice = document.getElementById("meeting-ended");
    notice.hidden = !ended;
    if (ended) { notice.textContent = texts["host.meeting_ended"]; }
    render();
  }

  socket.on("connect", function () {
    // The notes first, then the list: the page is drawn once, not redrawn under the keyboard.
    socket.emit("notes", {}, function (listed) {
      if (listed && listed.ok) {
        notes = {};
        listed.notes.forEach(function (n) { (notes[n.participant_id] = notes[n.participant_id] || []).push(n); });
      }
      socket.emit("list", {}, function (answer) {
        if (!answer || !answer.ok) { return; }
        people = {};
        answer.participants.forEach(function (p) { people[keyOf(p)] = p; });
        showSettings(answer.meeting);
        render();
      });
    });
  });
  var relist = null;
  function listAgain() {
    socket.emit("list", {}, function (answer) {
      if (!answer || !answer.ok) { return; }
      answer.participants.forEach(function (p) { people[keyOf(p)] = p; });
      render();
    });
  }
  // Notes belong to the invitation (participant): shown beside each of its entries.
  function entryOfParticipant(participantId) {
    var found = null;
    Object.keys(people).forEach(function (key) {
      if (people[key].participant_id === participantId && (!found || !people[key].ended)) { found = people[key]; }
    });
    return found;
  }
  socket.on("note", function (n) {
    var list = (notes[n.participant_id] = notes[n.participant_id] || []);
    list.push(n);
    if (list.length > 3) { list.shift(); }
    var p = entryOfParticipant(n.participant_id);
    tell(texts["host.note_arrived"].replace("{name}", p ? nameOf(p) : ""));
    chime();
    render();
  });
  socket.on("participant", function (p) {
    if (p.presence === "connection_lost") {
      // Ask again after the grace: the service then says whether the page came back or is gone.
      window.clearTimeout(relist);
      relist = window.setTimeout(listAgain, 11000);
    }
    var before = people[keyOf(p)];
    if (p.ended === "replaced") { delete people[keyOf(p)]; render(); return; }
    people[keyOf(p)] = p;
    if (p.state === "waiting" && (!before || before.state !== "waiting")) { arrived(p); }
    else if (acted[keyOf(p)] && before && before.state !== p.state) {
      // The outcome of this host's own click, said aloud: "Kim Andersson: Admitted".
      delete acted[keyOf(p)];
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
