// The built-in video backend: a small WebRTC mesh (a SIP meeting is 3-10 people) with
// signalling over the service's socket.io. The credential arrives in the URL fragment, so it
// never reaches a server log or a Referer. When the server revokes this participant, or says
// a peer left, the peer connections close at once and media stops.
(function () {
  "use strict";
  var root = document.getElementById("video");
  if (!root || typeof io === "undefined") { return; }
  var texts = JSON.parse(document.getElementById("texts").textContent);
  // The credential leaves the address bar at once, but stays with this tab (sessionStorage), so
  // a reload or a language switch keeps the person in the meeting. When it no longer opens the
  // room (expired, sent back, removed, ended), a participant goes back to their waiting room
  // page, which knows their state and asks for a fresh credential without eID again.
  var stored = "meetsvc-video:" + window.location.pathname;
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  try {
    if (token) { window.sessionStorage.setItem(stored, token); } else { token = window.sessionStorage.getItem(stored); }
  } catch (e) { /* storage refused: a reload goes back through the waiting room */ }
  history.replaceState(null, "", window.location.pathname);
  var rejoin = document.getElementById("rejoin");
  var status = document.getElementById("video-status");
  var videos = document.getElementById("videos");
  var local = document.getElementById("local");
  var peers = {};
  var stream = null;
  var socket = null;
  var ended = false;
  var ICE = { iceServers: [] };

  var mute = document.getElementById("mute");
  var camera = document.getElementById("camera");
  var leave = document.getElementById("leave");

  function say(text) { status.textContent = text; status.hidden = !text; }

  function tile(id, name) {
    var figure = document.getElementById("peer-" + id);
    if (!figure) {
      figure = document.createElement("figure");
      figure.id = "peer-" + id;
      var video = document.createElement("video");
      video.autoplay = true; video.playsInline = true;
      var caption = document.createElement("figcaption");
      caption.textContent = name || "";
      figure.appendChild(video); figure.appendChild(caption);
      videos.appendChild(figure);
    }
    return figure.querySelector("video");
  }

  function close(id) {
    var peer = peers[id];
    if (peer) { peer.pc.close(); delete peers[id]; }
    var figure = document.getElementById("peer-" + id);
    if (figure) { figure.remove(); }
  }

  // Who we are (the credential's subject): it decides who yields when two peers offer at
  // once ("perfect negotiation": the peer with the greater id is polite and rolls back).
  function forget() { try { window.sessionStorage.removeItem(stored); } catch (e) { /* nothing kept */ } }

  function isHost() { return me.indexOf("host-") === 0; }

  function backToLobby() {
    forget();
    if (!isHost()) { window.location.assign("/lobby"); }
  }

  var me = (function () {
    try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub || ""; }
    catch (e) { return ""; }
  }());

  function connection(id, name) {
    if (peers[id]) { return peers[id].pc; }
    var pc = new RTCPeerConnection(ICE);
    // Each peer's signalling is handled strictly in order: a candidate that arrives while the
    // offer it belongs to is still being applied waits for it instead of being lost.
    peers[id] = { pc: pc, name: name, queue: Promise.resolve() };
    if (stream) { stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); }); }
    pc.onicecandidate = function (e) { if (e.candidate) { socket.emit("signal", { to: id, data: { candidate: e.candidate.toJSON() } }); } };
    pc.ontrack = function (e) { tile(id, name).srcObject = e.streams[0]; };
    return pc;
  }

  function inOrder(id, name, step) {
    var pc = connection(id, name);
    var peer = peers[id];
    peer.queue = peer.queue.then(function () { return step(pc); }).catch(function () { /* the next message may still succeed */ });
  }

  function offer(id, name) {
    inOrder(id, name, function (pc) {
      return pc.createOffer().then(function (o) { return pc.setLocalDescription(o); })
        .then(function () { socket.emit("signal", { to: id, data: { description: pc.localDescription.toJSON() } }); });
    });
  }

  function accept(pc, from, description) {
    return pc.setRemoteDescription(description).then(function () {
      if (description.type !== "offer") { return null; }
      return pc.createAnswer().then(function (a) { return pc.setLocalDescription(a); })
        .then(function () { socket.emit("signal", { to: from, data: { description: pc.localDescription.toJSON() } }); });
    });
  }

  function onSignal(message) {
    var data = message.data || {};
    inOrder(message.from, message.name, function (pc) {
      if (data.description) {
        var collision = data.description.type === "offer" && pc.signalingState !== "stable";
        if (collision && me < message.from) { return null; }  // impolite: our own offer stands
        if (collision) {
          return pc.setLocalDescription({ type: "rollback" }).then(function () { return accept(pc, message.from, data.description); });
        }
        return accept(pc, message.from, data.description);
      }
      if (data.candidate) { return pc.addIceCandidate(data.candidate).catch(function () { /* from an offer we set aside */ }); }
      return null;
    });
  }

  function stop(text) {
    var hadFocus = [mute, camera, leave].indexOf(document.activeElement) >= 0;
    ended = true;
    Object.keys(peers).forEach(close);
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    if (socket) { socket.disconnect(); }
    mute.disabled = true; camera.disabled = true; leave.disabled = true;
    say(text);
    // The button just pressed is gone: the keyboard lands on what happened instead.
    if (hadFocus) { status.focus(); }
  }

  function start() {
    socket = io("/video", { auth: { token: token }, transports: ["websocket"] });
    socket.on("peer_joined", function (p) { offer(p.peer_id, p.name); });
    socket.on("signal", onSignal);
    socket.on("peer_left", function (p) { close(p.peer_id); });
    socket.on("revoked", function () { stop(texts["video.revoked"]); backToLobby(); });
    socket.on("connect_error", function () { if (!ended) { stop(texts["video.revoked"]); backToLobby(); } });
    socket.on("disconnect", function (reason) {
      // Closed by the server (sent back, removed, ended): whatever this page was told, it is out.
      if (reason === "io server disconnect" && !ended) { stop(texts["video.revoked"]); backToLobby(); }
    });
  }

  navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } })
    .then(function (s) {
      stream = s; local.srcObject = s;
      if (!ended) { mute.disabled = false; camera.disabled = false; }
      start();
    })
    .catch(function () { say(texts["video.no_media"]); start(); });

  mute.addEventListener("click", function () {
    if (!stream) { return; }
    var muted = mute.dataset.off !== "true";
    stream.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
    mute.dataset.off = String(muted);
    mute.textContent = muted ? texts["video.unmute"] : texts["video.mute"];
  });
  camera.addEventListener("click", function () {
    if (!stream) { return; }
    var off = camera.dataset.off !== "true";
    stream.getVideoTracks().forEach(function (t) { t.enabled = !off; });
    camera.dataset.off = String(off);
    camera.textContent = off ? texts["video.camera_on"] : texts["video.camera_off"];
  });
  leave.addEventListener("click", function () {
    if (socket) { socket.emit("leave", {}); }
    forget();
    stop(texts["video.left"]);
    // Still let in: "Join again" goes through the waiting room page straight back in.
    if (rejoin && !isHost()) { document.getElementById("rejoin-box").hidden = false; }
  });
  // Read by the browser tests to measure media flowing and stopping.
  window.meetsvcVideo = { peers: peers, localTracks: function () { return stream ? stream.getTracks() : []; } };
}());
