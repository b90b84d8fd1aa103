// The participant's waiting room: a lobby ticket from our own server, then a socket.io
// connection that only ever hears this participant's own state. Reconnects on its own
// (phones sleep and switch apps); the server keeps the place in the queue.
(function () {
  "use strict";
  var root = document.getElementById("lobby");
  if (!root || typeof io === "undefined") { return; }
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var pageTexts = JSON.parse(document.getElementById("page-texts").textContent);
  Object.keys(pageTexts).forEach(function (key) { texts[key] = pageTexts[key]; });
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var status = document.getElementById("status");
  var position = document.getElementById("position");
  var messageBox = document.getElementById("message-box");
  var message = document.getElementById("message");
  // The note to the hosts is for someone still let wait: a person removed, turned away or whose
  // session ended has no one to write to, and a form that sends nowhere would say nothing.
  var noteBox = document.getElementById("note-box");
  function mayWrite(yes) { if (noteBox) { noteBox.hidden = !yes; } }
  var join = document.getElementById("join");
  var joinLink = document.getElementById("join-link");
  var unverified = root.dataset.unverified === "1";
  var rejoin = document.getElementById("rejoin");
  var rejoinBox = document.getElementById("rejoin-box");

  function say(el, text) { if (el.textContent !== text) { el.textContent = text; } }

  // In the meeting's zone (Swedish time), worded as the page's start time is, with the zone
  // named: a phone set to another zone must not show "15:57" beside "16.12".
  function localTime(iso) {
    var english = document.documentElement.lang === "en";
    var zone = root.dataset.zone || "Europe/Stockholm";
    var d = new Date(iso);
    var day = d.toLocaleDateString(english ? "en-GB" : "sv-SE", { weekday: "long", day: "numeric", month: "long", timeZone: zone });
    var clock = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone });
    return english ? day + ", " + clock + " (" + texts["time.zone"] + ")"
      : day + " kl. " + clock.replace(":", ".") + " (" + texts["time.zone"] + ")";
  }

  function ticket() {
    return fetch("/lobby/ticket" + (unverified ? "?unverified=1" : ""), {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (r) {
      // Refused for good (the session ended, say): the page itself says why.
      if (r.status === 401 || r.status === 409 || r.status === 410) { window.location.reload(); }
      if (!r.ok) { throw new Error("ticket " + r.status); }
      return r.json();
    });
  }

  var finished = false;

  function wording(state) {
    // Sent back from the meeting is not "waiting for the first time"; removed is final; a
    // locked meeting shows the person knocking, and moves on by itself when it unlocks.
    if (state.state === "waiting" && state.sent_back) { return texts["lobby.state.sent_back"]; }
    if (state.state === "removed") { return texts["lobby.state.removed_final"]; }
    if (state.state === "locked") { return texts["lobby.state.knocking"]; }
    if (state.state === "left") { return texts["lobby.left_rejoin"]; }
    return texts["lobby.state." + state.state] || "";
  }

  function end(reason) {
    finished = true;
    say(status, texts["ended." + reason] || texts["lobby.state.closed"]);
    join.hidden = true; rejoinBox.hidden = true; position.hidden = true;
    mayWrite(false);
  }

  function show(state) {
    var text = wording(state);
    say(status, text.replace("{when}", localTime(state.opens_at)));
    rejoinBox.hidden = state.state !== "left";
    mayWrite(state.state !== "removed" && state.state !== "denied");
    if (state.position) {
      say(position, texts["lobby.position"].replace("{position}", String(state.position)));
      position.hidden = false;
    } else { position.hidden = true; }
    if (state.message) { say(message, state.message); messageBox.hidden = false; } else { messageBox.hidden = true; }
  }

  function connect() {
    ticket().then(function (answer) {
      var socket = io("/participant", { auth: { ticket: answer.ticket }, transports: ["websocket"] });
      // The note form (lobby_note.js) writes to the hosts on this same connection.
      document.dispatchEvent(new CustomEvent("lobby-socket", { detail: socket }));
      var current = null;
      var hasWayIn = false;
      var askAgain = null;
      // Admitted but no credential yet (lost on its way, the video backend slow): ask again, as
      // a reconnect would, until one comes or the state changes. The server answers from the
      // database and keeps this page's place.
      function expectCredential() {
        window.clearTimeout(askAgain);
        if (hasWayIn || (current !== "admitted" && current !== "in_meeting")) { return; }
        askAgain = window.setTimeout(function () {
          if (!hasWayIn && socket.connected) { socket.emit("arrive", {}); }
          expectCredential();
        }, 5000);
      }
      socket.on("state", function (state) {
        if (state.state !== current) { hasWayIn = false; }
        current = state.state;
        show(state);
        expectCredential();
      });
      // The waiting room opened (or the meeting was unlocked) while this page waited outside
      // it: come in now.
      socket.on("opened", function () { if (current === "not_open" || current === "locked") { socket.emit("arrive", {}); } });
      // The session ended (link revoked or reissued, removed, cancelled, ended, another device).
      socket.on("ended", function (data) { end(data && data.reason); socket.disconnect(); });
      rejoin.onclick = function () { socket.emit("arrive", {}); };
      socket.on("credential", function (credential) {
        hasWayIn = true;
        window.clearTimeout(askAgain);
        joinLink.href = credential.join_url;
        join.hidden = false;
        joinLink.focus();
        if (credential.open_now) { window.location.assign(credential.join_url); }
      });
      socket.on("connect_error", function (error) {
        if (error && error.message === "ended") {
          socket.disconnect();
          end(error.data && error.data.reason);
          return;
        }
        if (error && error.message === "not-admitted") {
          // Turned away by a host earlier: say so plainly, and knock again only now and then,
          // in case a host changes their mind and lets this person in after all.
          socket.disconnect();
          say(status, texts["lobby.not_admitted"]);
          mayWrite(false);
          window.setTimeout(connect, 20000);
          return;
        }
        say(status, texts["lobby.reconnecting"]);
        if (!socket.active) {
          // Refused by the server (an old ticket, say): start again with a fresh ticket.
          socket.disconnect();
          window.setTimeout(connect, 3000);
        }
      });
      socket.on("disconnect", function (reason) {
        if (finished) { return; }
        if (reason === "io server disconnect") { window.location.reload(); return; }
        if (reason !== "io client disconnect") { say(status, texts["lobby.reconnecting"]); }
      });
    }).catch(function () {
      say(status, texts["lobby.reconnecting"]);
      window.setTimeout(connect, 3000);
    });
  }
  connect();
}());
