// 朗读 (read-aloud), progressive enhancement of the control at the top of every page's <main>
// (templates/readaloud/control.html). Without this file the control is a link to a page that
// plays the server's recording. With it:
// - the control reads <main> here, with the browser's speech synthesis when it has a voice for
//   the page's language (zh-CN for Chinese pages), else with the server's recording played in
//   an <audio> element (POST /readaloud/speak);
// - while reading is on, moving to a form field reads that field's label, hint and error;
// - the 慢速 button (aria-pressed) slows both voices; the choice is kept on this device.
(function () {
  "use strict";
  var SPEED_KEY = "readaloud-speed";
  var ON_KEY = "readaloud-on";

  function store(kind, key, value) {
    try {
      if (value === undefined) { return window[kind].getItem(key); }
      if (value === null) { window[kind].removeItem(key); } else { window[kind].setItem(key, value); }
    } catch (e) { /* storage refused (private mode): the choice lasts for this page only */ }
    return null;
  }

  function text(el) { return el ? (el.innerText || el.textContent || "").trim() : ""; }

  document.addEventListener("DOMContentLoaded", function () {
    var control = document.querySelector("[data-readaloud]");
    var main = document.getElementById("main");
    if (!control || !main) { return; }
    var play = control.querySelector("[data-readaloud-play]");
    var speedButton = control.querySelector("[data-readaloud-speed]");
    var status = control.querySelector("[data-readaloud-status]");
    var lang = control.getAttribute("data-lang") === "en" ? "en" : "zh";
    var readLabel = play.textContent;
    var stopLabel = play.getAttribute("data-stop-label");
    var failed = control.getAttribute("data-error-label") || "";
    var synth = window.speechSynthesis || null;
    var audio = null;
    var pending = null;
    var on = false;

    play.setAttribute("role", "button");
    speedButton.hidden = false;
    function slow() { return speedButton.getAttribute("aria-pressed") === "true"; }
    speedButton.setAttribute("aria-pressed", store("localStorage", SPEED_KEY) === "slow" ? "true" : "false");

    function voice() {
      if (!synth || typeof synth.getVoices !== "function") { return null; }
      var voices = synth.getVoices() || [];
      var wanted = lang === "en" ? /^en/i : /^(zh[-_](cn|hans)|cmn)/i;
      for (var i = 0; i < voices.length; i++) {
        if (wanted.test(voices[i].lang || "")) { return voices[i]; }
      }
      return null;
    }

    function say(words) {
      if (synth) { synth.cancel(); }
      if (audio) { audio.pause(); }
      if (!words) { return; }
      var chosen = voice();
      if (chosen) {
        // One utterance a line: a pause between blocks, and no single long utterance (some
        // voices stop after about 15 seconds of one).
        words.split(/\n+/).forEach(function (line) {
          if (!line.trim()) { return; }
          var utterance = new SpeechSynthesisUtterance(line);
          utterance.voice = chosen;
          utterance.lang = chosen.lang;
          utterance.rate = slow() ? 0.7 : 1;
          synth.speak(utterance);
        });
      } else {
        fromServer(words);
      }
    }

    function fromServer(words) {
      var token = document.querySelector("input[name=csrf_token]");
      var body = new URLSearchParams();
      body.set("csrf_token", token ? token.value : "");
      body.set("text", words);
      body.set("lang", lang);
      body.set("speed", slow() ? "slow" : "normal");
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(control.getAttribute("data-speak-url"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json" }, signal: pending.signal
      }).then(function (response) {
        // Anything but JSON (a proxy's error page, a lost connection) gets the plain message.
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok || !answer.audio) { throw new Error(answer.error || failed); }
          status.textContent = answer.message || "";  // a long page: only its first part
          if (!audio) {
            audio = document.createElement("audio");
            audio.controls = true;
            audio.className = "readaloud-audio";
            audio.setAttribute("data-readaloud-audio", "");
            control.appendChild(audio);
          }
          audio.src = answer.audio;
          var started = audio.play();
          if (started && started.catch) { started.catch(function () { /* the controls remain */ }); }
        });
      }).catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        // The button goes back to rest, with a sentence a person can read (never a status code).
        setOn(false);
        status.textContent = error && error.message && !/^\d+$/.test(error.message) ? error.message : failed;
      });
    }

    function mainWords() {
      var parts = [];
      for (var i = 0; i < main.children.length; i++) {
        var child = main.children[i];
        if (child === control || child.hasAttribute("data-readaloud-skip") ||
            child.tagName === "SCRIPT") { continue; }
        parts.push(text(child));
      }
      return parts.join("\n").trim();
    }

    function fieldWords(field) {
      var parts = [];
      var labels = field.labels && field.labels.length ? field.labels : [];
      if (labels.length) {
        parts.push(text(labels[0]));
      } else {
        var fieldset = field.closest("fieldset");
        var legend = fieldset && fieldset.querySelector("legend");
        if (legend) { parts.push(text(legend)); }
        if (field.getAttribute("aria-label")) { parts.push(field.getAttribute("aria-label")); }
      }
      var holder = field.hasAttribute("aria-describedby") ? field : field.closest("[aria-describedby]");
      var ids = holder ? holder.getAttribute("aria-describedby").split(/\s+/) : [];
      ids.forEach(function (id) { parts.push(text(id && document.getElementById(id))); });
      return parts.filter(Boolean).join("\n");
    }

    function setOn(value) {
      on = value;
      play.textContent = value ? stopLabel : readLabel;
      store("sessionStorage", ON_KEY, value ? "1" : null);
      if (!value) {
        if (synth) { synth.cancel(); }
        if (audio) { audio.pause(); }
      }
    }

    function toggle(event) {
      event.preventDefault();
      if (on) { setOn(false); return; }
      setOn(true);
      status.textContent = "";
      say(mainWords());
    }

    play.addEventListener("click", toggle);
    play.addEventListener("keydown", function (event) {
      if (event.key === " ") { toggle(event); }  // a button answers the space bar too
    });
    speedButton.addEventListener("click", function () {
      var value = slow() ? "false" : "true";
      speedButton.setAttribute("aria-pressed", value);
      store("localStorage", SPEED_KEY, value === "true" ? "slow" : null);
    });

    // Reading stays on from page to page in this tab until it is stopped: a person who turned
    // it on hears each field as they reach it.
    if (store("sessionStorage", ON_KEY) === "1") { setOn(true); }
    var timer = null;
    document.addEventListener("focusin", function (event) {
      var field = event.target;
      if (!on || !field.matches || !field.matches("input, select, textarea") ||
          field.type === "hidden" || control.contains(field)) { return; }
      clearTimeout(timer);
      timer = setTimeout(function () { say(fieldWords(field)); }, 250);
    });
    if (synth && typeof synth.getVoices === "function") { synth.getVoices(); }  // starts loading them
  });
})();
