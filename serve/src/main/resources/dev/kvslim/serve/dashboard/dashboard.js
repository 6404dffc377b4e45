// KVSlim dashboard: polls /dashboard/data and draws, per served model, throughput, KV usage and compression ratio
// (uPlot) and the eviction rate of every layer x KV head (a canvas heat map). Once a model's charts hold data, its
// section gets data-points (samples drawn) and data-cells (heat-map cells), and the body data-rendered="true".
"use strict";

const POLL_MS = 1000;
const WIDTH = 360, HEIGHT = 200;
const views = new Map(); // model name -> {section, plots, heatmap, facts}

function el(tag, attrs, parent) {
  const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
  if (parent) parent.appendChild(e);
  return e;
}

function plot(container, title, series, yRange) {
  const box = el("div", {class: "chart"}, container);
  const opts = {
    title, width: WIDTH, height: HEIGHT,
    scales: {x: {time: true}, y: yRange ? {range: yRange} : {}},
    series: [{}].concat(series.map(([label, stroke]) => ({label, stroke, width: 2}))),
    axes: [{}, {size: 50}],
  };
  return new uPlot(opts, [[]].concat(series.map(() => [])), box);
}

function view(model) {
  let v = views.get(model.name);
  if (v) return v;
  const section = el("section", {"data-model": model.name}, document.getElementById("models"));
  el("h2", {}, section).textContent = model.name;
  const facts = el("div", {class: "facts"}, section);
  const charts = el("div", {class: "charts"}, section);
  const plots = {
    throughput: plot(charts, "Throughput (tokens/s)", [["generated", "#1f77b4"]]),
    usage: plot(charts, "KV usage (fraction of budget)", [["in use", "#d62728"]], [0, 1]),
    ratio: plot(charts, "Compression ratio (seen / kept)",
      [["running", "#2ca02c"], ["since start", "#9467bd"]]),
  };
  const hm = el("div", {class: "chart heatmap"}, charts);
  el("div", {class: "legend"}, hm).textContent =
    "Eviction rate per layer (rows) x KV head (columns): white 0, dark red 1";
  const canvas = el("canvas", {width: WIDTH, height: HEIGHT - 20}, hm);
  v = {section, facts, plots, canvas};
  views.set(model.name, v);
  return v;
}

function heatmap(canvas, rates) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const rows = rates.length, cols = rows ? rates[0].length : 0;
  if (!rows || !cols) return 0;
  const w = canvas.width / cols, h = canvas.height / rows;
  for (let l = 0; l < rows; l++) {
    for (let k = 0; k < cols; k++) {
      const r = Math.max(0, Math.min(1, rates[l][k]));
      g.fillStyle = `rgb(${255 - Math.round(116 * r)}, ${Math.round(255 * (1 - r))}, ${Math.round(255 * (1 - r))})`;
      g.fillRect(k * w, l * h, Math.ceil(w), Math.ceil(h));
      if (w > 28 && h > 14) {
        g.fillStyle = r > 0.5 ? "#fff" : "#000";
        g.font = "11px sans-serif";
        g.fillText(r.toFixed(2), k * w + 3, l * h + 12);
      }
    }
  }
  return rows * cols;
}

function draw(data) {
  let rendered = data.models.length > 0;
  for (const m of data.models) {
    const v = view(m);
    const s = m.series;
    v.plots.throughput.setData([s.t, s.tokens_per_second]);
    v.plots.usage.setData([s.t, s.kv_usage]);
    v.plots.ratio.setData([s.t, s.compression_ratio, s.lifetime_compression_ratio]);
    const cells = heatmap(v.canvas, m.eviction_rates);
    v.facts.textContent = `${m.cache} cache, ${m.layers} layers x ${m.kv_heads} KV heads, ` +
      `budget ${(m.budget_bytes / 1048576).toFixed(1)} MiB, in use ${(m.used_bytes / 1048576).toFixed(2)} MiB ` +
      `(peak ${(m.peak_used_bytes / 1048576).toFixed(2)}), ${m.generated_tokens} tokens generated, ` +
      `compression since start ${m.lifetime_compression_ratio.toFixed(2)}x, ` +
      (m.prefix_cache_hit_rate === null ? "no prefix-cache lookups yet"
        : `prefix-cache hit rate ${(100 * m.prefix_cache_hit_rate).toFixed(1)}% of ${m.prefix_cache_queries} prompt tokens`);
    v.section.setAttribute("data-points", String(s.t.length));
    v.section.setAttribute("data-cells", String(cells));
    v.section.setAttribute("data-generated", String(m.generated_tokens));
    rendered = rendered && s.t.length > 0 && cells > 0;
  }
  document.body.setAttribute("data-rendered", String(rendered));
}

// With API keys on, the data needs one: open the page as /#key=YOUR_KEY (the fragment never leaves the browser); the
// key is kept for this tab only.
const fragmentKey = new URLSearchParams(location.hash.slice(1)).get("key");
if (fragmentKey) {
  sessionStorage.setItem("kvslim-key", fragmentKey);
  history.replaceState(null, "", location.pathname);
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const key = sessionStorage.getItem("kvslim-key");
    const headers = key ? {Authorization: "Bearer " + key} : {};
    const r = await fetch("/dashboard/data", {cache: "no-store", headers});
    if (r.status === 401) throw new Error("this server needs an API key: open /#key=YOUR_KEY");
    if (!r.ok) throw new Error("HTTP " + r.status);
    draw(await r.json());
    status.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    status.textContent = "cannot read /dashboard/data: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}

poll();
