// The widget tells the page that frames it how tall it is, so that the frame fits
// whatever number of meetings it shows (the blog's snippet listens for this).
(function () {
  function tell() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    parent.postMessage({vernetzerWidgetHeight: height}, "*");
  }
  addEventListener("load", tell);
  addEventListener("resize", tell);
})();
