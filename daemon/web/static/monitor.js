// Live training monitor: Server-Sent Events from the daemon, a poll every 1.5 s when they fail.
"use strict";
(function () {
  const root = document.getElementById("monitor");
  const POLL_MS = 1500;
  const FINAL = ["completed", "failed", "cancelled"];
  const $ = function (id) { return document.getElementById(id); };

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    return s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }

  function chart(points) {
    const svg = $("loss-chart");
    const W = 400, H = 160, PAD = 24;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const ns = "http://www.w3.org/2000/svg";
    const axis = document.createElementNS(ns, "line");
    axis.setAttribute("x1", PAD); axis.setAttribute("y1", H - PAD);
    axis.setAttribute("x2", W - 4); axis.setAttribute("y2", H - PAD);
    svg.appendChild(axis);
    $("points").textContent = points.length;
    if (!points.length) return;
    const steps = points.map(function (p) { return p.step; });
    const losses = points.map(function (p) { return p.loss; });
    const x0 = Math.min.apply(null, steps), x1 = Math.max.apply(null, steps) || 1;
    const y0 = Math.min.apply(null, losses), y1 = Math.max.apply(null, losses);
    const sx = function (v) { return PAD + (W - PAD - 4) * (x1 === x0 ? 1 : (v - x0) / (x1 - x0)); };
    const sy = function (v) { return 4 + (H - PAD - 8) * (y1 === y0 ? 0.5 : 1 - (v - y0) / (y1 - y0)); };
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map(function (p) { return sx(p.step).toFixed(1) + "," + sy(p.loss).toFixed(1); }).join(" "));
    svg.appendChild(line);
    const labels = [[4, 12, y1.toFixed(3)], [4, H - PAD, y0.toFixed(3)], [W - 40, H - 8, "step " + x1]];
    for (const [x, y, text] of labels) {
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", x); label.setAttribute("y", y);
      label.textContent = text;
      svg.appendChild(label);
    }
  }

  function show(state) {
    const job = state.job;
    $("status").textContent = job.status;
    root.dataset.status = job.status;
    $("stage").textContent = job.stage || "";
    $("step").textContent = job.progress.step;
    $("total").textContent = job.progress.total_steps;
    $("progress").max = job.progress.total_steps || 1;
    $("progress").value = job.progress.step;
    $("eta").textContent = FINAL.includes(job.status) ? "–" : eta(job.progress.eta_seconds);
    $("loss").textContent = job.progress.loss === null ? "–" : job.progress.loss.toFixed(4);
    chart(state.points);
    if (state.sample) {
      const img = $("sample");
      if (img.dataset.url !== state.sample.url) { img.src = state.sample.url; img.dataset.url = state.sample.url; }
      img.hidden = false;
      $("sample-caption").textContent = "Sample at step " + state.sample.step;
    }
    if (job.error) { $("error").hidden = false; $("error").textContent = job.error; }
    if (job.model_id) {
      const link = $("model-link");
      link.hidden = false;
      link.querySelector("a").href = "/ui/models/" + job.model_id;
    }
    if (FINAL.includes(job.status)) $("cancel").hidden = true;
  }

  function poll() {
    $("channel").textContent = "polling";
    const timer = setInterval(async function () {
      try {
        const response = await fetch(root.dataset.poll, { credentials: "same-origin" });
        if (!response.ok) return;
        const state = await response.json();
        show(state);
        if (FINAL.includes(state.job.status)) clearInterval(timer);
      } catch (error) { /* the daemon restarts: try again at the next tick */ }
    }, POLL_MS);
  }

  const initial = JSON.parse($("initial-state").textContent);
  show(initial);
  if (FINAL.includes(initial.job.status)) { $("channel").textContent = "finished"; return; }
  if (!window.EventSource) { poll(); return; }
  const source = new EventSource(root.dataset.events);
  source.addEventListener("open", function () { $("channel").textContent = "live"; });
  source.addEventListener("update", function (event) {
    const state = JSON.parse(event.data);
    show(state);
    if (FINAL.includes(state.job.status)) { source.close(); $("channel").textContent = "finished"; }
  });
  source.addEventListener("error", function () {
    if (root.dataset.status && FINAL.includes(root.dataset.status)) return;
    source.close();
    poll();
  });
})();
