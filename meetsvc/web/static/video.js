// The built-in video backend: a small WebRTC mesh (a SIP meeting is 3-10 people) with
// signalling over the service's socket.io. The credential arrives in the URL fragment, so it
// never reaches a server log or a Referer. When the server revokes this participant, or says
// a peer left, the peer connections close at once and media stops.
(function () {
  "use strict";
  var root = document.getElementById("video");
  if (!root || typeof io === "undefined") { return; }
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  history.replaceState(null, "", window.location.pathname);
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

  function connection(id, name) {
    if (peers[id]) { return peers[id].pc; }
    var pc = new RTCPeerConnection(ICE);
    peers[id] = { pc: pc, name: name };
    if (stream) { stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); }); }
    pc.onicecandidate = function (e) { if (e.candidate) { socket.emit("signal", { to: id, data: { candidate: e.candidate.toJSON() } }); } };
    pc.ontrack = function (e) { tile(id, name).srcObject = e.streams[0]; };
    return pc;
  }

  function offer(id, name) {
    var pc = connection(id, name);
    pc.createOffer().then(function (o) { return pc.setLocalDescription(o); })
      .then(function () { socket.emit("signal", { to: id, data: { description: pc.localDescription.toJSON() } }); });
  }

  function onSignal(message) {
    var pc = connection(message.from, message.name);
    var data = message.data || {};
    if (data.description) {
      pc.setRemoteDescription(data.description).then(function () {
        if (data.description.type === "offer") {
          return pc.createAnswer().then(function (a) { return pc.setLocalDescription(a); })
            .then(function () { socket.emit("signal", { to: message.from, data: { description: pc.localDescription.toJSON() } }); });
        }
      });
    } else if (data.candidate) {
      pc.addIceCandidate(data.candidate).catch(function () { /* a late candidate for a closed connection */ });
    }
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
    socket.on("revoked", function () { stop(texts["video.revoked"]); });
    socket.on("connect_error", function () { if (!ended) { stop(texts["video.revoked"]); } });
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
    stop(texts["video.left"]);
  });
  // Read by the browser tests to measure media flowing and stopping.
  window.meetsvcVideo = { peers: peers, localTracks: function () { return stream ? stream.getTracks() : []; } };
}());
