// The announcement's preview shows the whole mail: its frame takes the height of
// the mail inside (same origin, and sandboxed: nothing in the mail can run).
(function () {
  function fit(frame) {
    var page = frame.contentDocument && frame.contentDocument.documentElement;
    if (page) frame.style.height = (page.scrollHeight + 4) + "px";
  }
  document.querySelectorAll("iframe.mail-preview").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    fit(frame);
    addEventListener("resize", function () { fit(frame); });
  });
})();
