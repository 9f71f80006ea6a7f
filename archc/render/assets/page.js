// archc render: the interactive page. Re-places groups with the same algorithm as
// archc/render/layout.py (`place`, `_order_positions`, `_spread`) when a block opens or closes.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("archc-data").textContent);
  const C = D.c, LR = D.direction === "LR", items = D.items, plans = D.plans;
  const open = new Set(D.open);
  const MARGIN = 16;
  const tw = (s) => s.length * C.CHAR_W;
  const xy = (o, r) => (LR ? [r, o] : [o, r]);
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

  function spread(want, widths, weights) {
    const offsets = []; let acc = 0;
    widths.forEach((w, k) => { if (k) acc += widths[k - 1] / 2 + C.SEP + w / 2; offsets.push(acc); });
    const blocks = [];  // [mean, weight, count]
    want.forEach((t, k) => {
      blocks.push([t - offsets[k], weights[k], 1]);
      while (blocks.length > 1 && blocks[blocks.length - 2][0] > blocks[blocks.length - 1][0]) {
        const [m2, w2, c2] = blocks.pop(), [m1, w1, c1] = blocks.pop();
        blocks.push([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2]);
      }
    });
    const values = [];
    for (const [m, , c] of blocks) for (let i = 0; i < c; i++) values.push(m);
    return values.map((v, k) => v + offsets[k]);
  }

  function orderPositions(p, extent) {
    const pos = {};
    for (const layer of p.layers) {
      let x = 0;
      for (const n of layer) { const w = extent(n)[0]; pos[n] = x + w / 2; x += w + C.SEP; }
      const total = x - C.SEP;
      for (const n of layer) pos[n] -= total / 2;
    }
    const up = {}, down = {};
    for (const ch of p.chains) for (let i = 0; i + 1 < ch.length; i++) {
      (down[ch[i]] = down[ch[i]] || []).push(ch[i + 1]);
      (up[ch[i + 1]] = up[ch[i + 1]] || []).push(ch[i]);
    }
    for (let s = 0; s < C.SWEEPS; s++) {
      const downward = s % 2 === 0, links = downward ? up : down;
      const idx = [];
      if (downward) for (let i = 1; i < p.layers.length; i++) idx.push(i);
      else for (let i = p.layers.length - 2; i >= 0; i--) idx.push(i);
      for (const i of idx) {
        const layer = p.layers[i];
        const want = layer.map((n) => {
          const near = (links[n] || []).filter((m) => m in pos);
          const total = near.reduce((a, m) => a + (p.weights[m] || 1), 0);
          return near.length ? near.reduce((a, m) => a + pos[m] * (p.weights[m] || 1), 0) / total : pos[n];
        });
        const xs = spread(want, layer.map((n) => extent(n)[0]), layer.map((n) => p.weights[n] || 1));
        layer.forEach((n, k) => { pos[n] = xs[k]; });
      }
    }
    return pos;
  }

  function place(p, extents, header, headW) {
    const extent = (n) => extents[n] || (n[0] === "d" ? [C.DUMMY, 0] : [0, 0]);
    const thick = p.layers.map((l) => Math.max(0, ...l.map((n) => extent(n)[1])));
    const gaps = p.layers.map((l) => {
      if (!LR) return C.BAND;
      const ws = l.filter((n) => n in p.labels).map((n) => tw(p.labels[n]));
      return ws.length ? Math.max(...ws) + 24 : 30;
    });
    const starts = []; let r = 0;
    thick.forEach((t, i) => { starts.push(r); r += t + gaps[i]; });
    const depth = r - (gaps.length ? gaps[gaps.length - 1] : 0);
    const order = orderPositions(p, extent);
    const keys = Object.keys(order);
    const lo = keys.length ? Math.min(...keys.map((n) => order[n] - extent(n)[0] / 2)) : 0;
    const hi = keys.length ? Math.max(...keys.map((n) => order[n] + extent(n)[0] / 2)) : 0;
    const inner = hi - lo, isGroup = header > 0, pad = isGroup ? C.GROUP_PAD : 0;
    const width = Math.max(inner, headW) + 2 * pad;
    const shift = pad - lo + (width - 2 * pad - inner) / 2;
    const rOff = pad + (LR ? 0 : header), oOff = shift + (LR ? header : 0);
    const placed = { width: width + (LR ? header : 0), depth: depth + 2 * pad + (LR ? 0 : header),
      centers: {}, bands: [], gaps };
    p.layers.forEach((layer, i) => {
      for (const n of layer) {
        let rc = starts[i] + extent(n)[1] / 2 + rOff;
        if (n === "IN" && isGroup) rc = 0;
        if (n === "OUT" && isGroup) rc = placed.depth;
        placed.centers[n] = [order[n] + oOff, rc];
      }
      placed.bands.push([starts[i] + rOff, thick[i]]);
    });
    return placed;
  }

  // ---- the whole picture -------------------------------------------------------------
  let sizes = {}, placedOf = {};
  const isOpen = (id) => id === "root" || (items[id].children.length > 0 && open.has(id));

  function size(id) {
    let s;
    if (!isOpen(id)) s = items[id].size;
    else {
      const extents = {};
      for (const c of items[id].children) { const [w, h] = size(c); extents[c] = LR ? [h, w] : [w, h]; }
      const root = id === "root";
      const pl = place(plans[id], extents, root ? 0 : C.HEAD,
        root ? 0 : items[id].headW);
      placedOf[id] = pl;
      s = LR ? [pl.depth, pl.width] : [pl.width, pl.depth];
    }
    sizes[id] = s;
    return s;
  }

  function edgePath(pts) {
    let d = `M${pts[0][0].toFixed(1)},${pts[0][1].toFixed(1)}`;
    for (let i = 0; i + 1 < pts.length; i++) {
      const [x0, y0] = pts[i], [x1, y1] = pts[i + 1];
      if (LR) { const m = (x0 + x1) / 2; d += ` C${m.toFixed(1)},${y0.toFixed(1)} ${m.toFixed(1)},${y1.toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`; }
      else { const m = (y0 + y1) / 2; d += ` C${x0.toFixed(1)},${m.toFixed(1)} ${x1.toFixed(1)},${m.toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`; }
    }
    return d;
  }

  function draw(id, gx, gy, out) {
    const pl = placedOf[id], p = plans[id], corner = {};
    for (const c of items[id].children) {
      const [ox, oy] = xy(...pl.centers[c]);
      const [w, h] = sizes[c];
      const x = gx + ox - w / 2, y = gy + oy - h / 2;
      corner[c] = [x, y];
      const it = items[c];
      if (isOpen(c)) {
        out.frames.push(`<g class="${it.openCls}" data-id="${c}" transform="translate(${x.toFixed(1)},${y.toFixed(1)})">` +
          `<rect class="f" width="${w.toFixed(1)}" height="${h.toFixed(1)}" rx="5"/>` +
          `<text class="t" x="${C.PAD}" y="${C.PAD + C.LINE_H - 4}">${esc(it.head)}</text></g>`);
        draw(c, x, y, out);
      } else {
        out.boxes.push(`<g class="${it.cls}" data-id="${c}" transform="translate(${x.toFixed(1)},${y.toFixed(1)})">${it.closed}</g>`);
      }
    }
    const layerOf = {};
    p.layers.forEach((l, i) => l.forEach((n) => { layerOf[n] = i; }));
    const point = (n, leaving) => {
      const [o, r] = pl.centers[n];
      if (n === "IN" || n === "OUT" || n[0] === "d") { const [x, y] = xy(o, r); return [gx + x, gy + y]; }
      const [x, y] = corner[n], [w, h] = sizes[n];
      if (isOpen(n)) { const [px, py] = xy(...placedOf[n].centers[leaving ? "OUT" : "IN"]); return [x + px, y + py]; }
      if (LR) return [leaving ? x + w : x, y + h / 2];
      return [x + w / 2, leaving ? y + h : y];
    };
    const groupSide = items[id].side;
    for (const ch of p.chains) {
      const pts = [point(ch[0], true)];
      for (const dm of ch.slice(1, -1)) {
        const o = pl.centers[dm][0], [start, thick] = pl.bands[layerOf[dm]];
        const a = xy(o, start), b = xy(o, start + thick);
        pts.push([gx + a[0], gy + a[1]], [gx + b[0], gy + b[1]]);
      }
      pts.push(point(ch[ch.length - 1], false));
      const side = groupSide || [ch[0], ch[ch.length - 1]].some((n) => items[n] && items[n].side);
      out.edges.push(`<path class="edge${side ? " side" : ""}" d="${edgePath(pts)}" marker-end="url(#arrow)"/>`);
    }
    for (const n of Object.keys(p.labels)) {
      const text = p.labels[n], i = layerOf[n], [start, thick] = pl.bands[i], gap = pl.gaps[i];
      const [x, y] = point(n, true), w = tw(text) + 6;
      let lx, ly;
      if (LR) { lx = Math.min(x + 9 + w / 2, gx + start + thick + gap - w / 2); ly = y; }
      else { lx = x; ly = Math.min(y + 3 + C.LABEL_H / 2, gy + start + thick + gap - C.LABEL_H / 2); }
      out.labels.push(`<g class="lblg"><rect class="lblbg" x="${(lx - w / 2).toFixed(1)}" y="${(ly - C.LABEL_H / 2).toFixed(1)}" width="${w.toFixed(1)}" height="${C.LABEL_H}" rx="3"/>` +
        `<text class="lbl" x="${lx.toFixed(1)}" y="${(ly + 4).toFixed(1)}" text-anchor="middle">${esc(text)}</text></g>`);
    }
  }

  const viewport = document.getElementById("viewport");
  const stage = document.getElementById("stage");
  let view = { k: 1, x: 0, y: 0 }, picture = { w: 0, h: 0 };
  const apply = () => viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);

  function render() {
    sizes = {}; placedOf = {};
    const [w, h] = size("root");
    const out = { frames: [], edges: [], boxes: [], labels: [] };
    draw("root", 0, 0, out);
    let top = MARGIN, banner = "";
    if (D.banner.length) {
      const bh = D.banner.length * C.LINE_H + 2 * C.PAD;
      const bw = Math.max(w, ...D.banner.map((b) => tw(b) + 2 * C.PAD));
      banner = `<g class="banner" transform="translate(${MARGIN},${MARGIN})"><rect width="${bw}" height="${bh}" rx="4"/>` +
        D.banner.map((b, k) => `<text class="e" x="${C.PAD}" y="${C.PAD + C.LINE_H * (k + 1) - 4}">${esc(b)}</text>`).join("") + "</g>";
      top += bh + 8;
    }
    viewport.innerHTML = banner + `<g transform="translate(${MARGIN},${top})">` +
      out.frames.join("") + out.edges.join("") + out.boxes.join("") + out.labels.join("") + "</g>";
    picture = { w: w + 2 * MARGIN, h: h + top + MARGIN };
    highlight();
  }

  function fit(whole) {  // the whole picture; at start, only if it stays readable (else its width)
    const W = stage.clientWidth, H = stage.clientHeight;
    const all = Math.min(1, W / picture.w, H / picture.h);
    view.k = whole || all >= 0.7 ? all : Math.min(1, W / picture.w);
    view.x = Math.max(0, (W - picture.w * view.k) / 2); view.y = Math.max(0, (H - picture.h * view.k) / 2);
    apply();
  }

  // ---- interaction -------------------------------------------------------------------
  const tip = document.getElementById("tip");
  let drag = null;
  stage.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false }; });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 4) { drag.moved = true; stage.classList.add("dragging"); }
    view.x = drag.vx + dx; view.y = drag.vy + dy; apply();
  });
  window.addEventListener("mouseup", () => { stage.classList.remove("dragging"); setTimeout(() => { drag = null; }, 0); });
  stage.addEventListener("wheel", (e) => {
    e.preventDefault();
    const rect = stage.getBoundingClientRect(), mx = e.clientX - rect.left, my = e.clientY - rect.top;
    const k = Math.min(4, Math.max(0.05, view.k * Math.exp(-e.deltaY * 0.0015)));
    view.x = mx - (mx - view.x) * k / view.k; view.y = my - (my - view.y) * k / view.k; view.k = k;
    apply();
  }, { passive: false });
  viewport.addEventListener("click", (e) => {
    if (drag && drag.moved) return;
    const g = e.target.closest("g[data-id]");
    if (!g) return;
    const id = g.dataset.id;
    if (!items[id].children.length) return;
    if (open.has(id)) open.delete(id); else open.add(id);
    tip.hidden = true;
    render();
  });
  viewport.addEventListener("mouseover", (e) => {
    const g = e.target.closest("g[data-id]");
    if (!g) return;
    viewport.querySelectorAll(".hover").forEach((n) => n.classList.remove("hover"));
    g.classList.add("hover");
    tip.textContent = items[g.dataset.id].tip;
    tip.hidden = false;
    tip.dataset.id = g.dataset.id;
  });
  viewport.addEventListener("mousemove", (e) => {
    tip.style.left = (e.clientX + 14) + "px"; tip.style.top = (e.clientY + 14) + "px";
  });
  viewport.addEventListener("mouseout", (e) => {
    const g = e.target.closest("g[data-id]");
    if (g && !(e.relatedTarget && g.contains(e.relatedTarget))) { g.classList.remove("hover"); tip.hidden = true; }
  });

  const search = document.getElementById("search"), found = document.getElementById("found");
  function matches() {
    const q = search.value.trim().toLowerCase();
    if (!q) return [];
    return Object.keys(items).filter((id) => id !== "root" && items[id].name.toLowerCase().includes(q));
  }
  function highlight() {
    const hits = new Set(matches());
    viewport.querySelectorAll("g[data-id]").forEach((g) => g.classList.toggle("hit", hits.has(g.dataset.id)));
    const shown = viewport.querySelectorAll("g.hit").length;
    found.textContent = search.value.trim() ? `${hits.size} found, ${shown} shown` : "";
  }
  function reveal() {  // open the groups around the first match and centre on it
    const hits = matches();
    if (!hits.length) return;
    for (let p = items[hits[0]].parent; p && p !== "root"; p = items[p].parent) open.add(p);
    render();
    const g = viewport.querySelector(`g[data-id="${hits[0]}"]`);
    if (!g) return;
    const box = g.getBoundingClientRect(), rect = stage.getBoundingClientRect();
    view.x += rect.left + rect.width / 2 - (box.left + box.width / 2);
    view.y += rect.top + rect.height / 2 - (box.top + box.height / 2);
    apply();
  }
  search.addEventListener("input", highlight);
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") reveal(); });
  document.getElementById("expand-all").addEventListener("click", () => {
    Object.keys(items).forEach((id) => { if (items[id].children.length && id !== "root") open.add(id); });
    render(); fit(true);
  });
  document.getElementById("collapse-all").addEventListener("click", () => { open.clear(); render(); fit(false); });
  document.getElementById("fit").addEventListener("click", () => fit(true));

  render();
  fit(false);
  window.archc = { open, render, fit, items, view: () => view };  // for tests and the console
})();
