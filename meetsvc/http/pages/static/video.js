// The built-in video backend: a small WebRTC mesh (a SIP meeting is 3-10 people) with
// signalling over the service's socket.io. The credential arrives in the URL fragment, so it
// never reaches a server log or a Referer. When the server revokes this participant, or says
// a peer left, the peer connections close at once and media stops.
//
// Phone first: the others share the stage in the grid that gives each the largest picture
// (recomputed on every change of size or company), one's own picture is small in a corner and
// can be moved, the controls sit below the stage. Each peer tells the others, over the same
// signalling, whether its microphone and camera are on, so a tile can say "microphone off" and
// show the name instead of a black picture; who is speaking is measured from the audio itself.
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
  var stage = document.getElementById("stage");
  var self = document.getElementById("self");
  var alone = document.getElementById("alone");
  var mine = { audio: true, video: true };
  var audioContext = null;
  var meters = {};
  var peers = {};
  var stream = null;
  var socket = null;
  var ended = false;
  var ICE = { iceServers: [] };

  var mute = document.getElementById("mute");
  var camera = document.getElementById("camera");
  var leave = document.getElementById("leave");

  function say(text) { status.textContent = text; status.hidden = !text; }

  function part(tag, cls, text) {
    var e = document.createElement(tag);
    e.className = cls;
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // A remote tile: the picture, and until it comes (or while the camera is off) the name, big.
  function figureOf(id, name) {
    var figure = document.getElementById("peer-" + id);
    if (!figure) {
      figure = part("figure", "tile camera-off");
      figure.id = "peer-" + id;
      var video = document.createElement("video");
      video.autoplay = true; video.playsInline = true;
      var caption = part("figcaption", "");
      caption.appendChild(part("span", "who", name || ""));
      var muted = part("span", "muted-mark", " " + texts["video.muted"]);
      muted.hidden = true;
      caption.appendChild(muted);
      var speaking = part("span", "visually-hidden speaking-mark", "");
      caption.appendChild(speaking);
      figure.appendChild(video);
      figure.appendChild(part("div", "name-tile", name || ""));
      figure.appendChild(caption);
      // Speaker view: one person large, the others in a row below; pressed again, the grid.
      var pin = part("button", "pin secondary", texts["video.pin"]);
      pin.type = "button";
      pin.appendChild(part("span", "visually-hidden", " – " + (name || "")));
      pin.addEventListener("click", function () { pinned = pinned === id ? null : id; layout(); });
      figure.appendChild(pin);
      videos.appendChild(figure);
      layout();
    }
    return figure;
  }

  function tile(id, name) { return figureOf(id, name).querySelector("video"); }

  function close(id) {
    var peer = peers[id];
    if (peer) { peer.pc.close(); delete peers[id]; }
    if (meters[id]) { meters[id].stop(); delete meters[id]; }
    var figure = document.getElementById("peer-" + id);
    if (figure) { figure.remove(); }
    if (pinned === id) { pinned = null; }
    layout();
  }

  // The grid (columns x rows) that gives each of n pictures the most area on this stage, a
  // picture being no wider than 16:9 nor taller than 9:16 (beyond that it is only bars).
  function bestGrid(n, width, height, gap) {
    var best = { cols: 1, rows: 1, score: -1 };
    for (var cols = 1; cols <= n; cols += 1) {
      var rows = Math.ceil(n / cols);
      var w = (width - gap * (cols - 1)) / cols, h = (height - gap * (rows - 1)) / rows;
      var score = Math.min(w, h * 16 / 9) * Math.min(h, w * 16 / 9);
      if (score > best.score) { best = { cols: cols, rows: rows, score: score }; }
    }
    return best;
  }

  var pinned = null;
  function layout() {
    var figures = videos.querySelectorAll("figure");
    var n = figures.length;
    // Once this page is out of the meeting, nobody is coming: the stage no longer says so.
    alone.hidden = n > 0 || ended;
    Array.prototype.forEach.call(figures, function (f) {
      var on = pinned !== null && f.id === "peer-" + pinned;
      f.classList.toggle("pinned", on);
      var button = f.querySelector(".pin");
      button.firstChild.textContent = texts[on ? "video.unpin" : "video.pin"];
    });
    videos.classList.toggle("speaker", pinned !== null && n > 1);
    if (!n) { return; }
    var gap = 6;
    if (pinned !== null && n > 1) {
      videos.style.gridTemplateColumns = "repeat(" + (n - 1) + ", minmax(0, 1fr))";
      videos.style.gridTemplateRows = "minmax(0, 3fr) minmax(0, 1fr)";
      return;
    }
    var grid = bestGrid(n, videos.clientWidth, videos.clientHeight, gap);
    videos.style.gridTemplateColumns = "repeat(" + grid.cols + ", minmax(0, 1fr))";
    videos.style.gridTemplateRows = "repeat(" + grid.rows + ", minmax(0, 1fr))";
  }
  window.addEventListener("resize", layout);

  // Who is speaking, from the sound itself: a ring round the tile while the level is up.
  function listen(id, mediaStream, figure) {
    if (meters[id] || !mediaStream.getAudioTracks().length) { return; }
    try {
      audioContext = audioContext || new (window.AudioContext || window.webkitAudioContext)();
      var analyser = audioContext.createAnalyser();
      analyser.fftSize = 512;
      var source = audioContext.createMediaStreamSource(mediaStream);
      source.connect(analyser);
      var data = new Uint8Array(analyser.fftSize);
      var timer = window.setInterval(function () {
        analyser.getByteTimeDomainData(data);
        var sum = 0;
        for (var i = 0; i < data.length; i += 1) { var v = (data[i] - 128) / 128; sum += v * v; }
        var speaking = Math.sqrt(sum / data.length) > 0.02;
        figure.classList.toggle("speaking", speaking);
        var mark = figure.querySelector(".speaking-mark");
        if (mark) { mark.textContent = speaking ? " " + texts["video.speaking"] : ""; }
      }, 250);
      meters[id] = { stop: function () { window.clearInterval(timer); source.disconnect(); } };
    } catch (e) { /* no Web Audio: no ring, everything else works */ }
  }

  function showMedia(figure, media) {
    figure.classList.toggle("camera-off", !media.video);
    figure.classList.toggle("muted", !media.audio);
    var mark = figure.querySelector(".muted-mark");
    if (mark) { mark.hidden = media.audio; }
  }

  function tellMedia(to) {
    if (!socket) { return; }
    var ids = to ? [to] : Object.keys(peers);
    ids.forEach(function (id) { socket.emit("signal", { to: id, data: { media: { audio: mine.audio, video: mine.video } } }); });
  }

  // One's own picture: dragged anywhere on the stage (or moved from corner to corner with its
  // button, for keyboard and screen reader users); it stays where it was put.
  var corners = ["bottom-right", "bottom-left", "top-left", "top-right"];
  var corner = 0;
  function place(which) {
    corners.forEach(function (c) { self.classList.remove(c); });
    self.classList.add(corners[which]);
    self.style.left = ""; self.style.top = ""; self.style.right = ""; self.style.bottom = "";
  }
  place(corner);
  document.getElementById("self-move").addEventListener("click", function () { corner = (corner + 1) % corners.length; place(corner); });
  self.addEventListener("pointerdown", function (down) {
    if (down.target.id === "self-move") { return; }
    var box = stage.getBoundingClientRect(), start = self.getBoundingClientRect();
    var dx = down.clientX - start.left, dy = down.clientY - start.top;
    self.setPointerCapture(down.pointerId);
    function move(e) {
      var x = Math.max(0, Math.min(box.width - start.width, e.clientX - box.left - dx));
      var y = Math.max(0, Math.min(box.height - start.height, e.clientY - box.top - dy));
      corners.forEach(function (c) { self.classList.remove(c); });
      self.style.left = x + "px"; self.style.top = y + "px"; self.style.right = "auto"; self.style.bottom = "auto";
    }
    function up() { self.removeEventListener("pointermove", move); self.removeEventListener("pointerup", up); }
    self.addEventListener("pointermove", move);
    self.addEventListener("pointerup", up);
  });

  // Who we are (the credential's subject): it decides who yields when two peers offer at
  // once ("perfect negotiation": the peer with the greater id is polite and rolls back).
  function forget() { try { window.sessionStorage.removeItem(stored); } catch (e) { /* nothing kept */ } }

  function isHost() { return claims.role === "moderator" || me.indexOf("host-") === 0; }

  function backToLobby() {
    forget();
    if (isHost()) { return; }
    // Where it is explained, should the move below be slow or refused.
    document.getElementById("to-lobby").hidden = false;
    window.location.assign("/lobby");
  }

  var claims = (function () {
    try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))) || {}; }
    catch (e) { return {}; }
  }());
  var me = claims.sub || "";
  // A host's credential: the waiting list drawer (host.js, loaded after this script) connects
  // for this meeting; the host socket itself decides whether this person is a host.
  var hostPanel = document.getElementById("host");
  if (hostPanel && claims.role === "moderator" && claims.mid) { hostPanel.dataset.meetingId = claims.mid; }

  function connection(id, name) {
    if (peers[id]) { return peers[id].pc; }
    figureOf(id, name);
    var pc = new RTCPeerConnection(ICE);
    // Each peer's signalling is handled strictly in order: a candidate that arrives while the
    // offer it belongs to is still being applied waits for it instead of being lost.
    peers[id] = { pc: pc, name: name, queue: Promise.resolve() };
    if (stream) { stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); }); }
    pc.onicecandidate = function (e) { if (e.candidate) { socket.emit("signal", { to: id, data: { candidate: e.candidate.toJSON() } }); } };
    pc.ontrack = function (e) {
      var figure = figureOf(id, name);
      var video = figure.querySelector("video");
      if (video.srcObject !== e.streams[0]) { video.srcObject = e.streams[0]; }
      if (e.track.kind === "video" && !figure.dataset.toldOff) { figure.classList.remove("camera-off"); }
      listen(id, e.streams[0], figure);
    };
    pc.onconnectionstatechange = function () { if (pc.connectionState === "connected") { tellMedia(id); } };
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
    if (data.media) {
      var figure = figureOf(message.from, message.name);
      figure.dataset.toldOff = data.media.video ? "" : "1";
      showMedia(figure, { audio: data.media.audio !== false, video: data.media.video !== false });
      return;
    }
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
    forget();
    var hadFocus = [mute, camera, leave, document.getElementById("self-move")].indexOf(document.activeElement) >= 0;
    ended = true;
    Object.keys(peers).forEach(close);
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    // The camera is off for good: no black picture, and no button to move it, are left behind.
    self.hidden = true;
    layout();
    if (socket) { socket.disconnect(); }
    mute.disabled = true; camera.disabled = true; leave.disabled = true;
    say(text);
    // The button just pressed is gone: the keyboard lands on what happened instead.
    if (hadFocus) { status.focus(); }
  }

  function start() {
    socket = io("/video", { auth: { token: token }, transports: ["websocket"] });
    socket.on("peer_joined", function (p) { figureOf(p.peer_id, p.name); offer(p.peer_id, p.name); });
    socket.on("signal", onSignal);
    socket.on("peer_left", function (p) { close(p.peer_id); });
    // Revoked (sent back, removed, ended) or closed by the server: a participant goes back to
    // the waiting room page, which says where they stand; a host stays with the drawer.
    socket.on("revoked", function () { stop(texts["video.revoked"]); backToLobby(); });
    socket.on("connect_error", function () { if (!ended) { stop(texts["video.revoked"]); backToLobby(); } });
    socket.on("disconnect", function (reason) {
      if (reason === "io server disconnect" && !ended) { stop(texts["video.revoked"]); backToLobby(); }
    });
  }

  // The camera and microphone chosen in the waiting room's device check, if any (the browser
  // already allowed them there, so it does not ask again now).
  var chosen = (function () { try { return JSON.parse(sessionStorage.getItem("meetsvc.devices") || "{}"); } catch (e) { return {}; } }());
  var videoWanted = { width: 640, height: 480 };
  if (chosen.camera) { videoWanted.deviceId = { ideal: chosen.camera }; }
  var audioWanted = chosen.microphone ? { deviceId: { ideal: chosen.microphone } } : true;
  navigator.mediaDevices.getUserMedia({ audio: audioWanted, video: videoWanted })
    .then(function (s) {
      stream = s; local.srcObject = s;
      self.classList.remove("camera-off");
      listen("self", s, self);
      if (!ended) { mute.disabled = false; camera.disabled = false; }
      start();
    })
    .catch(function () { self.classList.add("camera-off"); mine = { audio: false, video: false }; say(texts["video.no_media"]); start(); });

  mute.addEventListener("click", function () {
    if (!stream) { return; }
    var muted = mute.dataset.off !== "true";
    stream.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
    mute.dataset.off = String(muted);
    mute.textContent = muted ? texts["video.unmute"] : texts["video.mute"];
    mine.audio = !muted;
    showMedia(self, mine);
    tellMedia();
  });
  camera.addEventListener("click", function () {
    if (!stream) { return; }
    var off = camera.dataset.off !== "true";
    stream.getVideoTracks().forEach(function (t) { t.enabled = !off; });
    camera.dataset.off = String(off);
    camera.textContent = off ? texts["video.camera_on"] : texts["video.camera_off"];
    mine.video = !off;
    showMedia(self, mine);
    tellMedia();
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
