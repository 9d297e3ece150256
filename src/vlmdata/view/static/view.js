// vlmdata view: the little the page needs from JavaScript (it works without it, too).
// 1. While the dataset is being indexed, show progress and reload a filtered list once the index is done.
// 2. Load a record's label mask when its "label mask" section is opened.
(function () {
  "use strict";
  var status = document.getElementById("status");
  function fmt(n) { return Number(n).toLocaleString("en"); }
  function poll() {
    fetch("/api/status").then(function (r) { return r.json(); }).then(function (s) {
      if (s.done) {
        status.classList.add("done");
        status.dataset.done = "yes";
        status.textContent = s.error ? "indexing stopped: " + s.error
          : fmt(s.records) + " records indexed and validated (reload to see every problem)";
        return;
      }
      var text = "indexing: " + fmt(s.indexed) + " of " + fmt(s.records) + " records counted";
      if (!s.validated) text += ", validate running (problems appear when it finishes)";
      if (s.counted !== null) text += ", tokens counted for " + fmt(s.counted);
      status.textContent = text;
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  if (status && status.dataset.done === "no") setTimeout(poll, 1000);

  document.querySelectorAll("details.labels").forEach(function (d) {
    d.addEventListener("toggle", function () {
      if (!d.open || d.dataset.loaded) return;
      d.dataset.loaded = "1";
      var pre = d.querySelector("pre");
      fetch(d.dataset.src).then(function (r) { return r.json(); }).then(function (v) {
        if (v.error) { pre.textContent = v.error; return; }
        pre.textContent = "";
        v.segments.forEach(function (s) {
          var span = document.createElement("span");
          span.className = s.kind;
          span.textContent = s.text;
          pre.appendChild(span);
        });
        var head = document.createElement("div");
        head.textContent = v.length + " tokens";
        d.insertBefore(head, pre);
      });
    });
  });
})();
