// Door check-in enhancement: scan the QR code with the camera where the browser can decode it
// (BarcodeDetector). Typing the 8 digits always works without this.
(function () {
  "use strict";
  var box = document.querySelector("[data-camera]");
  if (!box || !("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  box.style.display = "block";
  var video = box.querySelector("[data-camera-video]");
  var form = document.querySelector("[data-door-form]");
  box.querySelector("[data-camera-start]").addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.play();
      var scan = function () {
        detector.detect(video).then(function (codes) {
          var digits = codes.length ? codes[0].rawValue.replace(/\D/g, "") : "";
          if (digits.length === 8) {
            stream.getTracks().forEach(function (t) { t.stop(); });
            form.querySelector("input[name=code]").value = digits;
            form.submit();
          } else { window.requestAnimationFrame(scan); }
        });
      };
      scan();
    });
  });
})();
