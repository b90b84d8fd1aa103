// The device check in the waiting room: see yourself, watch the microphone's level, hear a test
// sound, choose a camera and a microphone. The browser asks for permission here, while waiting,
// not in front of everyone; the choice is kept for this tab (sessionStorage) and the video page
// opens the same devices, so nothing is asked again at admission. Nothing leaves the browser.
(function () {
  "use strict";
  var start = document.getElementById("devices-start");
  if (!start || !navigator.mediaDevices) { return; }
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var KEY = "meetsvc.devices";
  var panel = document.getElementById("devices");
  var refused = document.getElementById("devices-refused");
  var preview = document.getElementById("preview");
  var cameras = document.getElementById("camera-choice");
  var microphones = document.getElementById("microphone-choice");
  var level = document.getElementById("microphone-level");
  var speaker = document.getElementById("speaker-test");
  var speakerSaid = document.getElementById("speaker-said");
  var stream = null;
  var audio = null;
  var meterFrame = null;

  function saved() { try { return JSON.parse(sessionStorage.getItem(KEY) || "{}"); } catch (e) { return {}; } }
  function save(choice) { try { sessionStorage.setItem(KEY, JSON.stringify(choice)); } catch (e) { /* private mode */ } }

  function stopStream() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (meterFrame) { window.cancelAnimationFrame(meterFrame); meterFrame = null; }
  }

  function fill(select, devices, kind, chosen) {
    select.replaceChildren();
    var list = devices.filter(function (d) { return d.kind === kind; });
    list.forEach(function (d, index) {
      var option = document.createElement("option");
      option.value = d.deviceId;
      option.textContent = d.label || texts[kind === "videoinput" ? "devices.camera_n" : "devices.microphone_n"].replace("{n}", String(index + 1));
      option.selected = d.deviceId === chosen;
      select.appendChild(option);
    });
    if (!list.length) {
      var none = document.createElement("option");
      none.value = ""; none.textContent = texts["devices.none"];
      select.appendChild(none);
    }
  }

  function meter(s) {
    var tracks = s.getAudioTracks();
    if (!tracks.length) { return; }
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var analyser = audio.createAnalyser();
      analyser.fftSize = 512;
      audio.createMediaStreamSource(s).connect(analyser);
      var data = new Uint8Array(analyser.fftSize);
      var tick = function () {
        analyser.getByteTimeDomainData(data);
        var peak = 0;
        for (var i = 0; i < data.length; i += 1) { peak = Math.max(peak, Math.abs(data[i] - 128) / 128); }
        level.value = Math.min(1, peak * 2);
        meterFrame = window.requestAnimationFrame(tick);
      };
      tick();
    } catch (e) { /* no Web Audio: the picture and the choice still work */ }
  }

  function open(choice) {
    stopStream();
    var constraints = {
      video: choice.camera ? { deviceId: { exact: choice.camera } } : true,
      audio: choice.microphone ? { deviceId: { exact: choice.microphone } } : true
    };
    return navigator.mediaDevices.getUserMedia(constraints).then(function (s) {
      stream = s;
      preview.srcObject = s;
      refused.hidden = true;
      panel.hidden = false;
      var used = {
        camera: (s.getVideoTracks()[0] && s.getVideoTracks()[0].getSettings().deviceId) || choice.camera || "",
        microphone: (s.getAudioTracks()[0] && s.getAudioTracks()[0].getSettings().deviceId) || choice.microphone || ""
      };
      save(used);
      meter(s);
      return navigator.mediaDevices.enumerateDevices().then(function (devices) {
        fill(cameras, devices, "videoinput", used.camera);
        fill(microphones, devices, "audioinput", used.microphone);
      });
    }).catch(function () {
      panel.hidden = true;
      refused.hidden = false;
      refused.setAttribute("tabindex", "-1");
      refused.focus();
    });
  }

  start.addEventListener("click", function () { open(saved()); });
  cameras.addEventListener("change", function () { var c = saved(); c.camera = cameras.value; open(c); });
  microphones.addEventListener("change", function () { var c = saved(); c.microphone = microphones.value; open(c); });
  speaker.addEventListener("click", function () {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(); var gain = audio.createGain();
      osc.frequency.value = 440; gain.gain.value = 0.2;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 1);
      speakerSaid.textContent = texts["devices.speaker_played"];
    } catch (e) { /* no Web Audio */ }
  });
  // Leaving for the meeting: free the camera so the video page can open it at once.
  window.addEventListener("pagehide", stopStream);
  window.meetsvcDevices = { level: function () { return level.value; }, stream: function () { return stream; } };
}());
