/* report.js - the script of report.html (report_html.c embeds it at build
 * time through archive/js2c.sed). It reads the data block written by
 * report_html.c, draws the map on a canvas when the archive is big (the
 * small ones come as an inline SVG heatmap), the parallel axes when there are
 * three measures or more, a paged sortable table, and the detail panel.
 * Every text goes into the page through textContent, never as HTML, so an
 * elite's text (an LLM's output) cannot inject markup. When the map is on
 * screen, window.__report.ready is set (the browser test and the bench wait
 * for it). */
(function () {
  'use strict';
  var MARKS = {start: performance.now()};
  var D = JSON.parse(document.getElementById('data').textContent);
  MARKS.parsed = performance.now();
  var N = D.n, M = D.m, MP = D.map;

  /* numbers travel as little-endian float32 / int32 in base64 */
  var LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  function b64(s, asInt) {
    var u, i;
    if (Uint8Array.fromBase64) u = Uint8Array.fromBase64(s || '');
    else {
      var b = atob(s || ''), n = b.length;
      u = new Uint8Array(n);
      for (i = 0; i < n; i++) u[i] = b.charCodeAt(i);
    }
    var k = u.length >> 2;
    if (LE) return asInt ? new Int32Array(u.buffer, u.byteOffset, k) : new Float32Array(u.buffer, u.byteOffset, k);
    var dv = new DataView(u.buffer, u.byteOffset), o = asInt ? new Int32Array(k) : new Float32Array(k);
    for (i = 0; i < k; i++) o[i] = asInt ? dv.getInt32(4 * i, true) : dv.getFloat32(4 * i, true);
    return o;
  }
  var OBJ = b64(D.objective), MEA = b64(D.measures), CELL = b64(D.cell, true);
  var GEN = D.genome ? b64(D.genome) : null, G = D.genes || 0;
  MARKS.decoded = performance.now();

  function el(t, txt, cls) {
    var n = document.createElement(t);
    if (txt !== undefined) n.textContent = txt;
    if (cls) n.className = cls;
    return n;
  }
  /* a number printed short: p significant digits, exponent form when tiny or huge */
  function sh(v, p) {
    p = p || 4;
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(p - 1).replace(/\.?0+e/, 'e');
    return String(+v.toPrecision(p));
  }
  function mname(k) { return (D.names && D.names[k]) || ('measure_' + k); }
  function lab(k) { return (D.labels && D.labels[k]) || null; }
  function category(k, v) {
    var l = lab(k);
    if (!l || !l.categories || !(v >= 0)) return null;
    var c = l.categories[Math.floor(v)];
    return c === undefined ? null : c;
  }
  /* "2.5 (limerick)", "0.12 (romance 0 ↔ 1 horror)" */
  function mtext(k, v) {
    var s = sh(v, 4), c = category(k, v), l = lab(k);
    if (c !== null) s += ' (' + c + ')';
    else if (l && l.low !== undefined) s += ' (' + l.low + ' 0 \u2194 1 ' + l.high + ')';
    return s;
  }

  /* viridis, the same 11 stops as heatmap_svg.c */
  var VIR = [[68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140],
    [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37]];
  function rgb(t) {
    t = !(t >= 0) ? 0 : t > 1 ? 1 : t;
    var u = t * 10, i = Math.min(9, Math.floor(u)), f = u - i, a = VIR[i], b = VIR[i + 1];
    return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f),
      Math.round(a[2] + (b[2] - a[2]) * f)];
  }
  function colour(v) {
    var c = rgb((v - MP.vmin) / (MP.vmax - MP.vmin));
    return 'rgb(' + c[0] + ',' + c[1] + ',' + c[2] + ')';
  }

  /* ---- axes: where a measure value sits in [0, 1] (grids in bin-index space) ---- */
  function axisPos(k, v) {
    var ax = MP.axes[k], e = ax.edges;
    if (!e) return (v - ax.lo) / (ax.hi - ax.lo);
    if (v <= e[0]) return 0;
    for (var b = 0; b + 1 < e.length; b++)
      if (v < e[b + 1]) return (b + (v - e[b]) / (e[b + 1] - e[b])) / (e.length - 1);
    return 1;
  }
  /* ticks of axis k: [position in [0, 1], label] */
  function axisTicks(k, few) {
    var ax = MP.axes[k], out = [], l = lab(k), i;
    if (l && l.categories && l.categories.length <= 40) {
      for (i = 0; i < l.categories.length; i++) {
        var t = axisPos(k, i + 0.5);
        if (t > 0 && t < 1) out.push([t, l.categories[i]]);
      }
      return out;
    }
    if (ax.edges && !ax.uniform) {
      var nb = ax.edges.length - 1, every = nb <= (few ? 4 : 10) ? 1 : Math.ceil(nb / (few ? 4 : 10));
      for (i = 0; i <= nb; i += every) out.push([i / nb, sh(ax.edges[i], 3)]);
      return out;
    }
    var lo = ax.edges ? ax.edges[0] : ax.lo, hi = ax.edges ? ax.edges[ax.edges.length - 1] : ax.hi;
    var raw = (hi - lo) / (few ? 3 : 5), p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    var step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
    for (var v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step)
      out.push([(v - lo) / (hi - lo), sh(Math.abs(v) < 1e-12 ? 0 : v, 4)]);
    return out;
  }
  function axisTitle(k) {
    var l = lab(k);
    return mname(k) + (l && l.low !== undefined ? ': ' + l.low + ' \u2194 ' + l.high : '');
  }

  /* ---- tooltip, detail panel, marks ---- */
  var tip = el('div', undefined, 'tip');
  tip.id = 'tip';
  document.body.appendChild(tip);
  function tipShow(i, ev) {
    if (i < 0) { tip.style.display = 'none'; return; }
    tip.textContent = '';
    tip.appendChild(el('b', 'cell ' + CELL[i] + ': objective ' + sh(OBJ[i], 5)));
    for (var k = 0; k < M && k < 8; k++) tip.appendChild(el('div', mname(k) + ' ' + mtext(k, MEA[i * M + k])));
    if (M > 8) tip.appendChild(el('div', '... ' + (M - 8) + ' more measures'));
    if (D.text) {
      var t = D.text[i] || '';
      tip.appendChild(el('div', t.length > 160 ? t.slice(0, 160) + '...' : t, 'tiptext'));
    }
    tip.style.display = 'block';
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth - 8) x = ev.clientX - tip.offsetWidth - 14;
    if (y + tip.offsetHeight > window.innerHeight - 8) y = ev.clientY - tip.offsetHeight - 14;
    tip.style.left = Math.max(0, x) + 'px';
    tip.style.top = Math.max(0, y) + 'px';
  }

  var det = document.getElementById('detail'), marked = -1, map = null, par = null;
  function show(i, scroll) {
    marked = i;
    det.textContent = '';
    det.appendChild(el('h3', 'Cell ' + CELL[i] + (MP.grid ? ' (' + coords(CELL[i]).join(', ') + ')' : '')));
    var t = el('table');
    function row(k, v) {
      var r = el('tr');
      r.appendChild(el('td', k));
      r.appendChild(el('td', v));
      t.appendChild(r);
    }
    row('objective', sh(OBJ[i], 6));
    for (var k = 0; k < M; k++) row(mname(k), mtext(k, MEA[i * M + k]));
    det.appendChild(t);
    if (D.text) {
      det.appendChild(el('h4', 'Text'));
      det.appendChild(el('pre', D.text[i] || ''));
    }
    if (GEN) {
      var g = [];
      for (var j = 0; j < G; j++) g.push(sh(GEN[i * G + j], 6));
      det.appendChild(el('h4', 'Genome' + (D.dim > G ? ' (first ' + G + ' of ' + D.dim + ' numbers)' : '')));
      det.appendChild(el('pre', g.join(', ')));
    }
    if (D.meta && D.meta[i] !== null && D.meta[i] !== undefined) {
      det.appendChild(el('h4', 'Meta'));
      det.appendChild(el('pre', JSON.stringify(D.meta[i], null, 2)));
    }
    if (D.lineage && D.lineage[i] !== null && D.lineage[i] !== undefined) {
      det.appendChild(el('h4', 'Lineage'));
      det.appendChild(el('pre', JSON.stringify(D.lineage[i], null, 2)));
    }
    det.appendChild(el('p', 'Numbers here are shown to 6 digits; archive.json and archive.csv hold them exactly.', 'small'));
    if (map) map.mark(i);
    if (par) par.mark(i);
    /* its top ('Cell N', the objective) in view even when it is taller than the window */
    if (scroll && det.scrollIntoView) det.scrollIntoView({block: 'start', behavior: 'smooth'});
  }

  /* ---- grid cells: coordinates of a cell (row-major, the first measure slowest) ---- */
  var STRIDE = [];
  if (MP.grid) {
    var st = 1;
    for (var q = M - 1; q >= 0; q--) { STRIDE[q] = st; st *= MP.axes[q].edges.length - 1; }
  }
  function coords(cell) {
    var c = [];
    for (var k = 0; k < M; k++) { c.push(Math.floor(cell / STRIDE[k])); cell %= STRIDE[k]; }
    return c;
  }

  /* ---- the inline SVG map (small archives): custom tooltip, outlines drawn on top ---- */
  function svgMap() {
    var svg = document.querySelector('#map svg'), NS = 'http://www.w3.org/2000/svg';
    if (!svg) return null;
    var over = document.createElementNS(NS, 'g'), bySlot = {}, hover = null;
    over.setAttribute('pointer-events', 'none');
    svg.appendChild(over);
    function outline(node, stroke, w) {
      var c = node.cloneNode(false);
      c.removeAttribute('class');
      c.setAttribute('fill', 'none');
      c.setAttribute('stroke', stroke);
      c.setAttribute('stroke-width', w);
      over.appendChild(c);
    }
    function redraw() {
      over.textContent = '';
      if (marked >= 0 && bySlot[marked]) outline(bySlot[marked], '#e00', 3);
      if (hover) outline(hover, '#000', 2);
    }
    svg.querySelectorAll('.cell').forEach(function (c) {
      var s = +c.getAttribute('data-slot'), t = c.querySelector('title');
      if (t) t.remove(); /* the page's own tooltip replaces the SVG one */
      bySlot[s] = c;
      c.addEventListener('mousemove', function (ev) { tipShow(s, ev); });
      c.addEventListener('mouseenter', function () { hover = c; redraw(); });
      c.addEventListener('mouseleave', function () { hover = null; tipShow(-1); redraw(); });
      c.addEventListener('click', function () { show(s, false); });
    });
    /* where elite i is drawn, in client coordinates (null: not drawn) */
    function pointOf(i) {
      var n = bySlot[i];
      if (!n) return null;
      var b = n.getBoundingClientRect();
      return {x: b.left + b.width / 2, y: b.top + b.height / 2};
    }
    return {mark: redraw, pointOf: pointOf};
  }

  /* ---- the canvas map (big archives) ---- */
  function canvasMap() {
    var host = document.getElementById('map'), size = MP.size || 480, i, k;
    var X = MP.x, Y = M > 1 ? MP.y : -1, hidden = [], cols = 1, rows = 1, facets = 1;
    var bins = MP.grid ? MP.axes.map(function (a) { return a.edges.length - 1; }) : null;
    if (MP.grid && M >= 3 && M <= 4) {
      for (k = 0; k < M; k++) if (k !== X && k !== Y) hidden.push(k);
      facets = bins[hidden[0]] * (hidden.length > 1 ? bins[hidden[1]] : 1);
      if (facets > 64) { hidden = []; facets = 1; }
      else if (hidden.length === 1) { cols = Math.min(6, facets); rows = Math.ceil(facets / cols); }
      else { cols = bins[hidden[0]]; rows = bins[hidden[1]]; }
    }
    var projected = M > 2 && !hidden.length, cvt2 = !MP.grid && M === 2 && MP.centroids;
    var fs = hidden.length ? Math.max(80, Math.floor(size / Math.max(cols, rows))) : size;
    var cv = el('canvas'), ov = el('canvas'), g = cv.getContext('2d'), o = ov.getContext('2d');
    /* the left margin follows the y axis's widest tick label ("mysterious"),
     * so the axis name at x = YNAME never runs into the labels */
    g.font = '12px sans-serif';
    var yTicks = Y >= 0 ? axisTicks(Y, hidden.length > 0) : [], widest = 0, YNAME = 22;
    yTicks.forEach(function (t) { widest = Math.max(widest, g.measureText(t[1]).width); });
    var GX = 12, GY = hidden.length ? 22 : 0, L = Math.max(80, Math.ceil(widest) + 8 + 30), T = 30 + GY, R = 110;
    var B = projected ? 76 : 56, w = cols * fs + (cols - 1) * GX, h = M === 1 ? 48 : rows * (fs + GY) - GY;
    var W = L + w + R, H = T + h + B;
    cv.width = ov.width = W;
    cv.height = ov.height = H;
    cv.id = 'mapcanvas';
    var wrap = el('div', undefined, 'canvaswrap');
    wrap.appendChild(cv);
    wrap.appendChild(ov);
    host.appendChild(wrap);
    g.fillStyle = '#fff'; /* (setting the size reset the context) */
    g.fillRect(0, 0, W, H);
    g.font = '12px sans-serif';
    g.fillStyle = '#222';
    g.fillText(D.stats, L, 18);
    function panelOrigin(p) { return [L + (p % cols) * (fs + GX), T + Math.floor(p / cols) * (fs + GY)]; }
    var pw = hidden.length ? fs : w, ph = hidden.length ? fs : h;
    for (var p = 0; p < facets; p++) {
      var po = panelOrigin(p);
      g.fillStyle = MP.grid || cvt2 ? '#e8e8e8' : '#f4f4f4';
      g.fillRect(po[0], po[1], pw, ph);
      g.strokeStyle = '#333';
      g.strokeRect(po[0] + 0.5, po[1] + 0.5, pw, ph);
      if (hidden.length) {
        g.fillStyle = '#222';
        var ft = hidden.map(function (hk, j) {
          var bin = j === 0 ? (hidden.length > 1 ? p % bins[hk] : p) : Math.floor(p / bins[hidden[0]]);
          var e = MP.axes[hk].edges, c = category(hk, 0.5 * (e[bin] + e[bin + 1]));
          return mname(hk) + (c !== null ? ': ' + c : ' in [' + sh(e[bin], 3) + ', ' + sh(e[bin + 1], 3) + ')');
        }).join(', ');
        g.fillText(ft, po[0], po[1] - 6);
      }
    }
    /* what is drawn where: best[p * nx * ny + by * nx + bx] = elite index */
    var pick, cellRect;
    if (MP.grid) {
      var nx = bins[X], ny = Y >= 0 ? bins[Y] : 1, best = new Int32Array(facets * nx * ny).fill(-1);
      var bin = function (cell, k) { return Math.floor(cell / STRIDE[k]) % bins[k]; };
      for (i = 0; i < N; i++) {
        var ce = CELL[i], pp = 0;
        if (hidden.length) pp = hidden.length > 1 ? bin(ce, hidden[0]) + bins[hidden[0]] * bin(ce, hidden[1]) : bin(ce, hidden[0]);
        var at = pp * nx * ny + (Y >= 0 ? bin(ce, Y) : 0) * nx + bin(ce, X);
        if (best[at] < 0 || OBJ[i] > OBJ[best[at]]) best[at] = i;
      }
      var cw = pw / nx, chh = ph / ny;
      cellRect = function (at) {
        var pp = Math.floor(at / (nx * ny)), r = at % (nx * ny), bx = r % nx, by = Math.floor(r / nx), po = panelOrigin(pp);
        return [po[0] + bx * cw, po[1] + ph - (by + 1) * chh, cw, chh];
      };
      /* each panel as an nx x ny image (one pixel per cell, empty ones
       * transparent over the panel's grey) scaled up without smoothing */
      var tile = document.createElement('canvas');
      tile.width = nx;
      tile.height = ny;
      var tg = tile.getContext('2d');
      g.imageSmoothingEnabled = false;
      for (var pp2 = 0; pp2 < facets; pp2++) {
        var im = tg.createImageData(nx, ny), px4 = im.data;
        for (var a = 0; a < nx * ny; a++) {
          var e = best[pp2 * nx * ny + a];
          if (e < 0) continue;
          var c3 = rgb((OBJ[e] - MP.vmin) / (MP.vmax - MP.vmin)), q = 4 * ((ny - 1 - Math.floor(a / nx)) * nx + a % nx);
          px4[q] = c3[0]; px4[q + 1] = c3[1]; px4[q + 2] = c3[2]; px4[q + 3] = 255;
        }
        tg.putImageData(im, 0, 0);
        var po3 = panelOrigin(pp2);
        g.drawImage(tile, po3[0], po3[1], pw, ph);
      }
      var where = new Int32Array(N).fill(-1);
      for (var a2 = 0; a2 < best.length; a2++) if (best[a2] >= 0) where[best[a2]] = a2;
      pick = function (mx, my) {
        for (var pp = 0; pp < facets; pp++) {
          var po = panelOrigin(pp), bx = Math.floor((mx - po[0]) / cw), by = Math.floor((po[1] + ph - my) / chh);
          if (bx >= 0 && bx < nx && by >= 0 && by < ny) {
            var at = pp * nx * ny + by * nx + bx;
            return best[at] >= 0 ? {i: best[at], at: at} : null;
          }
        }
        return null;
      };
      var outlineOf = function (i) { return where[i] < 0 ? null : cellRect(where[i]); };
      var centre = function (i) { var r = outlineOf(i); return r && [r[0] + r[2] / 2, r[1] + r[3] / 2]; };
    } else if (cvt2) {
      /* the Voronoi cells as a raster: each pixel owned by its nearest centroid */
      var C = b64(MP.centroids), K = C.length / M, slotOf = new Int32Array(K).fill(-1);
      for (i = 0; i < N; i++) slotOf[CELL[i]] = i;
      var px = new Float32Array(K), py = new Float32Array(K);
      for (k = 0; k < K; k++) { px[k] = axisPos(X, C[k * M + X]) * w; py[k] = (1 - axisPos(Y, C[k * M + Y])) * h; }
      /* centroids bucketed on a BG x BG grid, as flat arrays (start, items) */
      var BG = Math.max(1, Math.ceil(Math.sqrt(K / 2))), bw = w / BG, bh = h / BG;
      var bstart = new Int32Array(BG * BG + 1), bitems = new Int32Array(K), bof = new Int32Array(K);
      for (k = 0; k < K; k++) {
        var bxk = Math.min(BG - 1, Math.max(0, Math.floor(px[k] / bw))), byk = Math.min(BG - 1, Math.max(0, Math.floor(py[k] / bh)));
        bof[k] = byk * BG + bxk;
        bstart[bof[k] + 1]++;
      }
      for (k = 0; k < BG * BG; k++) bstart[k + 1] += bstart[k];
      var fillp = bstart.slice(0, BG * BG);
      for (k = 0; k < K; k++) bitems[fillp[bof[k]]++] = k;
      var nearest = function (x, y) {
        var cx = Math.min(BG - 1, Math.max(0, Math.floor(x / bw))), cy = Math.min(BG - 1, Math.max(0, Math.floor(y / bh)));
        var bestk = -1, bd = Infinity, side = Math.min(bw, bh);
        for (var r = 0; r < BG; r++) {
          var y0 = Math.max(0, cy - r), y1 = Math.min(BG - 1, cy + r);
          for (var yy = y0; yy <= y1; yy++) {
            var edgeRow = yy === cy - r || yy === cy + r, x0 = Math.max(0, cx - r), x1 = Math.min(BG - 1, cx + r);
            for (var xx = x0; xx <= x1; xx += edgeRow || xx === cx + r ? 1 : Math.max(1, x1 - xx)) {
              if (!edgeRow && xx !== cx - r && xx !== cx + r) continue;
              var b = yy * BG + xx;
              for (var j = bstart[b], je = bstart[b + 1]; j < je; j++) {
                var kk = bitems[j], dx = px[kk] - x, dy = py[kk] - y, d = dx * dx + dy * dy;
                if (d < bd) { bd = d; bestk = kk; }
              }
            }
          }
          /* the ring just searched bounds every cell beyond it */
          if (bestk >= 0 && r * side >= Math.sqrt(bd)) break;
        }
        return bestk;
      };
      var own = new Int32Array(w * h), img = g.createImageData(w, h), dd = img.data;
      for (var yy = 0; yy < h; yy++) for (var xx = 0; xx < w; xx++) own[yy * w + xx] = nearest(xx + 0.5, yy + 0.5);
      var edge = K * 16 < w * h;
      /* borders dark around filled cells, light between empty ones (as the SVG's strokes) */
      for (var pix = 0; pix < w * h; pix++) {
        var ck = own[pix], s = slotOf[ck], q4 = pix * 4, col, nb = -1;
        if (edge && pix % w + 1 < w && own[pix + 1] !== ck) nb = own[pix + 1];
        else if (edge && pix + w < w * h && own[pix + w] !== ck) nb = own[pix + w];
        if (nb >= 0) col = s < 0 && slotOf[nb] < 0 ? [187, 187, 187] : [85, 85, 85];
        else if (s < 0) col = [252, 252, 252];
        else col = rgb((OBJ[s] - MP.vmin) / (MP.vmax - MP.vmin));
        dd[q4] = col[0]; dd[q4 + 1] = col[1]; dd[q4 + 2] = col[2]; dd[q4 + 3] = 255;
      }
      g.putImageData(img, L, T);
      pick = function (mx, my) {
        var x = Math.floor(mx - L), y = Math.floor(my - T);
        if (x < 0 || y < 0 || x >= w || y >= h) return null;
        var ck = own[y * w + x];
        return slotOf[ck] >= 0 ? {i: slotOf[ck], at: ck} : null;
      };
      var outlineOf = function (i) { return {cell: CELL[i]}; };
      var centre = function (i) {
        var x = Math.floor(px[CELL[i]]), y = Math.floor(py[CELL[i]]);
        return own[Math.min(h - 1, y) * w + Math.min(w - 1, x)] === CELL[i] ? [L + x + 0.5, T + y + 0.5] : null;
      };
    } else {
      /* points at their (x, y) measures */
      var PX = new Float32Array(N), PY = new Float32Array(N), ord = [];
      for (i = 0; i < N; i++) {
        PX[i] = L + Math.min(1, Math.max(0, axisPos(X, MEA[i * M + X]))) * w;
        PY[i] = T + h - (Y >= 0 ? Math.min(1, Math.max(0, axisPos(Y, MEA[i * M + Y]))) : 0.5) * h;
        ord.push(i);
      }
      ord.sort(function (a, b) { return OBJ[a] - OBJ[b]; });
      ord.forEach(function (i) { g.fillStyle = colour(OBJ[i]); g.fillRect(PX[i] - 1.5, PY[i] - 1.5, 3, 3); });
      pick = function (mx, my) {
        var bi = -1, bd = 36;
        for (var i = 0; i < N; i++) {
          var dx = PX[i] - mx, dy = PY[i] - my, d = dx * dx + dy * dy;
          if (d < bd || (d === bd && bi >= 0 && OBJ[i] > OBJ[bi])) { bd = d; bi = i; }
        }
        return bi >= 0 ? {i: bi} : null;
      };
      var outlineOf = function (i) { return [PX[i] - 4, PY[i] - 4, 8, 8]; };
      var centre = function (i) { return [PX[i], PY[i]]; };
    }
    /* axes, names, colour bar, note */
    g.fillStyle = '#222';
    g.strokeStyle = '#333';
    for (p = 0; p < facets; p++) {
      var po2 = panelOrigin(p), lastRow = Math.floor(p / cols) === rows - 1 || p + cols >= facets;
      if (lastRow) axisTicks(X, hidden.length > 0).forEach(function (t) {
        var x = po2[0] + t[0] * pw;
        g.beginPath(); g.moveTo(x, po2[1] + ph); g.lineTo(x, po2[1] + ph + 5); g.stroke();
        g.textAlign = 'center'; g.fillText(t[1], x, po2[1] + ph + 18);
      });
      if (p % cols === 0) yTicks.forEach(function (t) {
        var y = po2[1] + ph - t[0] * ph;
        g.beginPath(); g.moveTo(po2[0] - 5, y); g.lineTo(po2[0], y); g.stroke();
        g.textAlign = 'right'; g.fillText(t[1], po2[0] - 8, y + 4);
      });
    }
    g.textAlign = 'center';
    g.fillText(axisTitle(X), L + w / 2, T + h + 40);
    var layout = {left: L};
    if (Y >= 0) {
      var yn = g.measureText(axisTitle(Y));
      g.save(); g.translate(YNAME, T + h / 2); g.rotate(-Math.PI / 2); g.fillText(axisTitle(Y), 0, 0); g.restore();
      /* what the page reports of it (the browser test checks the gap) */
      layout.yName = [YNAME - yn.actualBoundingBoxAscent, YNAME + yn.actualBoundingBoxDescent];
      layout.yTicks = [L - 8 - widest, L - 8];
    }
    var bx0 = L + w + 24, by0 = T + (M === 1 ? 0 : 20), bh0 = M === 1 ? h : Math.max(40, h - 40);
    var grad = g.createLinearGradient(0, by0 + bh0, 0, by0);
    for (i = 0; i <= 10; i++) grad.addColorStop(i / 10, 'rgb(' + VIR[i].join(',') + ')');
    g.fillStyle = grad;
    g.fillRect(bx0, by0, 16, bh0);
    g.strokeRect(bx0 + 0.5, by0 + 0.5, 16, bh0);
    g.fillStyle = '#222';
    g.textAlign = 'left';
    for (i = 0; i <= 4; i++) g.fillText(sh(MP.vmin + (MP.vmax - MP.vmin) * i / 4, 4), bx0 + 20, by0 + bh0 - bh0 * i / 4 + 4);
    g.fillText('objective', bx0 - 10, by0 - 8);
    if (projected) {
      g.fillStyle = '#a00';
      g.fillText('A projection: each ' + (MP.grid ? 'square' : 'point') + ' shows the best elite over the ' + (M - 2) +
        ' measures not drawn (the parallel axes below show all ' + M + ').', L, T + h + 66);
    }
    /* hover and mark on the overlay canvas */
    var hover = -1;
    function ring(i, stroke, lw) {
      var r = outlineOf(i);
      if (!r) return;
      o.strokeStyle = stroke;
      o.lineWidth = lw;
      if (r.cell !== undefined) { /* a CVT cell: its border pixels */
        o.fillStyle = stroke;
        for (var y = 0; y < h; y++) for (var x = 0; x < w; x++) {
          var q = y * w + x;
          if (own[q] === r.cell && (x === 0 || y === 0 || x === w - 1 || y === h - 1 || own[q - 1] !== r.cell ||
              own[q + 1] !== r.cell || own[q - w] !== r.cell || own[q + w] !== r.cell))
            o.fillRect(L + x - lw / 2 + 0.5, T + y - lw / 2 + 0.5, lw, lw);
        }
        return;
      }
      o.strokeRect(r[0] - lw / 2, r[1] - lw / 2, Math.max(r[2], 1) + lw, Math.max(r[3], 1) + lw);
    }
    function redraw() {
      o.clearRect(0, 0, W, H);
      if (marked >= 0) ring(marked, '#e00', 3);
      if (hover >= 0) ring(hover, '#000', 2);
    }
    ov.addEventListener('mousemove', function (ev) {
      var b = ov.getBoundingClientRect(), hit = pick((ev.clientX - b.left) * W / b.width, (ev.clientY - b.top) * H / b.height);
      var ni = hit ? hit.i : -1;
      ov.style.cursor = hit ? 'pointer' : 'default';
      tipShow(ni, ev);
      if (ni !== hover) { hover = ni; redraw(); }
    });
    ov.addEventListener('mouseleave', function () { hover = -1; tipShow(-1); redraw(); });
    ov.addEventListener('click', function (ev) {
      var b = ov.getBoundingClientRect(), hit = pick((ev.clientX - b.left) * W / b.width, (ev.clientY - b.top) * H / b.height);
      if (hit) show(hit.i, false);
    });
    function pointOf(i) {
      var c = centre(i);
      if (!c) return null;
      var b = ov.getBoundingClientRect();
      return {x: b.left + c[0] * b.width / W, y: b.top + c[1] * b.height / H};
    }
    return {mark: redraw, pointOf: pointOf, layout: layout};
  }

  /* ---- parallel axes: every elite as a line over all its measures ---- */
  function parallel() {
    var host = document.getElementById('parallel');
    if (!host || M < 3) return null;
    var L = 60, T = 34, B = 46, gap = Math.max(70, Math.min(160, Math.floor(1100 / (M - 1)))), h = 260;
    var W = L * 2 + gap * (M - 1), H = T + h + B, k, i;
    var cv = el('canvas'), ov = el('canvas'), wrap = el('div', undefined, 'canvaswrap');
    cv.width = ov.width = W;
    cv.height = ov.height = H;
    wrap.appendChild(cv);
    wrap.appendChild(ov);
    host.appendChild(wrap);
    var g = cv.getContext('2d'), o = ov.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, W, H);
    g.font = '12px sans-serif';
    function ax(k) { return L + k * gap; }
    function yOf(i, k) { return T + h - Math.min(1, Math.max(0, axisPos(k, MEA[i * M + k]))) * h; }
    var ord = [];
    for (i = 0; i < N; i++) ord.push(i);
    ord.sort(function (a, b) { return OBJ[a] - OBJ[b]; }); /* the best drawn last, on top */
    g.globalAlpha = N > 5000 ? 0.15 : N > 500 ? 0.35 : 0.8;
    var at = 0;
    function chunk() {
      for (var end = Math.min(N, at + 4000); at < end; at++) {
        var e = ord[at];
        g.strokeStyle = colour(OBJ[e]);
        g.beginPath();
        for (var k = 0; k < M; k++) (k ? g.lineTo : g.moveTo).call(g, ax(k), yOf(e, k));
        g.stroke();
      }
      if (at < N) requestAnimationFrame(chunk);
      else axes();
    }
    function axes() {
      g.globalAlpha = 1;
      g.strokeStyle = '#333';
      g.fillStyle = '#222';
      for (var k = 0; k < M; k++) {
        g.beginPath(); g.moveTo(ax(k) + 0.5, T); g.lineTo(ax(k) + 0.5, T + h); g.stroke();
        g.textAlign = 'center';
        g.fillText(mname(k), ax(k), T - 18);
        var t = axisTicks(k, true);
        g.textAlign = 'left';
        t.forEach(function (tk) { g.fillText(tk[1], ax(k) + 4, T + h - tk[0] * h + 4); });
      }
      host.setAttribute('data-drawn', String(N));
    }
    chunk();
    function redraw() {
      o.clearRect(0, 0, W, H);
      if (marked < 0) return;
      o.strokeStyle = '#e00';
      o.lineWidth = 2.5;
      o.beginPath();
      for (var k = 0; k < M; k++) (k ? o.lineTo : o.moveTo).call(o, ax(k), yOf(marked, k));
      o.stroke();
    }
    return {mark: redraw};
  }

  /* ---- the table: sorted, filtered, paged ---- */
  var tb = document.querySelector('#elites tbody'), PAGE = 100, page = 0, key = 'objective', desc = true;
  var sorted = null, rowsShown = [];
  function val(i, k) {
    return k === 'cell' ? CELL[i] : k === 'objective' ? OBJ[i] : k === 'text' ? (D.text[i] || '') : MEA[i * M + (+k)];
  }
  function resort() {
    sorted = [];
    for (var i = 0; i < N; i++) sorted.push(i);
    sorted.sort(function (a, b) {
      var x = val(a, key), y = val(b, key);
      return (x < y ? -1 : x > y ? 1 : a - b) * (desc ? -1 : 1);
    });
    document.querySelectorAll('#elites th').forEach(function (th) {
      if (!th.hasAttribute('data-name')) th.setAttribute('data-name', th.textContent);
      var on = th.getAttribute('data-key') === key;
      th.textContent = th.getAttribute('data-name') + (on ? (desc ? ' \u25bc' : ' \u25b2') : '');
      th.setAttribute('aria-sort', on ? (desc ? 'descending' : 'ascending') : 'none');
    });
  }
  function refilter() {
    var q = document.getElementById('filter').value.toLowerCase().trim();
    rowsShown = !q ? sorted : sorted.filter(function (i) {
      return String(CELL[i]) === q || (D.text && (D.text[i] || '').toLowerCase().indexOf(q) >= 0);
    });
    page = 0;
    render();
  }
  function render() {
    var pages = Math.max(1, Math.ceil(rowsShown.length / PAGE));
    page = Math.min(Math.max(0, page), pages - 1);
    tb.textContent = '';
    var from = page * PAGE, to = Math.min(rowsShown.length, from + PAGE);
    for (var j = from; j < to; j++) {
      var i = rowsShown[j], r = el('tr');
      r.appendChild(el('td', String(CELL[i])));
      r.appendChild(el('td', sh(OBJ[i], 6)));
      for (var k = 0; k < M; k++) r.appendChild(el('td', mtext(k, MEA[i * M + k])));
      if (D.text) {
        var t = D.text[i] || '';
        r.appendChild(el('td', t.length > 120 ? t.slice(0, 120) + '...' : t));
      }
      r.setAttribute('data-index', String(i));
      r.addEventListener('click', show.bind(null, i, true));
      tb.appendChild(r);
    }
    document.getElementById('count').textContent = (rowsShown.length ? 'rows ' + (from + 1) + '\u2013' + to + ' of ' +
      rowsShown.length : 'no rows') + (rowsShown.length !== N ? ' (filtered from ' + N + ' elites)' : ' elites') +
      ', page ' + (page + 1) + ' of ' + pages;
    document.getElementById('prev').disabled = page === 0;
    document.getElementById('next').disabled = page >= pages - 1;
  }
  document.querySelectorAll('#elites th').forEach(function (th) {
    th.addEventListener('click', function () {
      var k = th.getAttribute('data-key');
      if (k === key) desc = !desc;
      else { key = k; desc = k === 'objective'; }
      resort();
      refilter();
    });
  });
  document.getElementById('filter').addEventListener('input', refilter);
  document.getElementById('prev').addEventListener('click', function () { page--; render(); });
  document.getElementById('next').addEventListener('click', function () { page++; render(); });

  map = MP.mode === 'canvas' ? canvasMap() : svgMap();
  MARKS.map = performance.now();
  window.__report = {ready: true, t: performance.now(), marks: MARKS, elites: N, mode: MP.mode, pointOf: map && map.pointOf,
    layout: map && map.layout};
  resort();
  refilter();
  var hm = location.hash.match(/^#cell=(\d+)$/);
  if (hm) for (var z = 0; z < N; z++) if (CELL[z] === +hm[1]) show(z, true);
  var startPar = function () { par = parallel(); if (par && marked >= 0) par.mark(); };
  if (window.requestAnimationFrame) requestAnimationFrame(startPar); else startPar();
})();
