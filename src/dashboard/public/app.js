/* global uPlot, document, window, fetch, setTimeout, ResizeObserver, getComputedStyle */
// The dashboard page: asks /api/state for what is new since its last poll, keeps it, and redraws.
// Charts are uPlot (served from node_modules by the dashboard server). No build step, no framework.

const POLL_MS = 1000;
/** How much of the server's history the charts show. */
const VIEW_MS = 5 * 60 * 1000;
const SPARK_FEATURES = [
  'ret_1s', 'ret_5s', 'ret_10s', 'spread_bp', 'ob_imbalance', 'vol_imbalance_1s', 'vol_imbalance_5s',
  'volume_1s', 'trade_intensity_1s', 'dollar_volume_1s', 'vwap_dev_1s', 'price_volatility', 'momentum',
  'bid_strength', 'ask_strength', 'data_age_ms',
];
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const COLORS = {};

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const el = (tag, attrs = {}, html = '') => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (html) e.innerHTML = html;
  return e;
};

function fmtNum(n, digits) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  const d = digits ?? (a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 4 : 6);
  return n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: Math.min(d, a >= 1000 ? 0 : 2) });
}
function fmtMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}
const hhmmss = (ms) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });

/** Per symbol: the page's copy of the server's history and its DOM / charts. */
const symbols = new Map();
let seq = 0;
let lastNowMs = Date.now();

function timeAxis() {
  return {
    stroke: COLORS.muted, grid: { stroke: COLORS.line, width: 1 }, ticks: { stroke: COLORS.line }, font: '11px system-ui', size: 28,
    values: (u, splits) => splits.map((s) => hhmmss(s * 1000)),
  };
}
function valueAxis(fmt, size = 70) {
  return { stroke: COLORS.muted, grid: { stroke: COLORS.line, width: 1 }, ticks: { stroke: COLORS.line }, size, font: '11px system-ui', values: (u, vals, i, space, incr) => vals.map((v) => fmt(v, incr)) };
}
/** As many decimals as the axis step needs (a 0.005 step shows 84,999.995). */
const byStep = (v, step) => fmtNum(v, Math.max(0, Math.min(8, Math.ceil(-Math.log10(step || 1) - 1e-9))));
function widthOf(node) {
  return Math.max(200, Math.floor(node.getBoundingClientRect().width));
}

/** Shades resyncing spans and marks re-anchors on a time chart. */
function episodesHook(st) {
  return (u) => {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    for (const e of st.timeline) {
      const x0 = u.valToPos(e.start / 1000, 'x', true);
      const x1 = u.valToPos((e.end ?? lastNowMs) / 1000, 'x', true);
      ctx.fillStyle = e.end === null ? 'rgba(191,97,106,0.22)' : 'rgba(235,203,139,0.18)';
      ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
      ctx.strokeStyle = COLORS.info;
      ctx.lineWidth = 1.5;
      for (const r of e.reanchors) {
        const x = u.valToPos(r.ms / 1000, 'x', true);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
      }
    }
    ctx.restore();
  };
}

function tradesHook(st) {
  return (u) => {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const maxVol = Math.max(1e-9, ...st.trades.map((t) => t.volume));
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    for (const t of st.trades) {
      const x = u.valToPos(t.t / 1000, 'x', true);
      const y = u.valToPos(t.price, 'y', true);
      const r = (2 + 5 * Math.sqrt(t.volume / maxVol)) * window.devicePixelRatio;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = t.side > 0 ? COLORS.buy : t.side < 0 ? COLORS.sell : COLORS.muted;
      ctx.globalAlpha = 0.75;
      ctx.fill();
    }
    ctx.restore();
  };
}

function freshnessHook(st) {
  return (u) => {
    const ctx = u.ctx;
    const { left, width } = u.bbox;
    ctx.save();
    ctx.setLineDash([5, 4]);
    for (const [v, color] of [[st.freshness.p50Ms, COLORS.ok], [st.freshness.p95Ms, COLORS.warn]]) {
      if (v === null) continue;
      const y = u.valToPos(v, 'y', true);
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
    }
    ctx.restore();
  };
}

function createSymbol(sym) {
  const sec = el('section', { class: 'symbol', id: `sym-${sym}`, 'data-symbol': sym, 'data-points': '0' });
  sec.innerHTML = `
    <div class="sym-head">
      <h2>${esc(sym)}</h2>
      <span class="badge status">no book</span>
      <span class="kv"><span>mid</span><b class="num mid">–</b></span>
      <span class="kv"><span>bid / ask</span><b class="num bbo">–</b></span>
      <span class="kv"><span>spread</span><b class="num spread">–</b></span>
      <span class="kv"><span>update id</span><b class="num uid">–</b></span>
      <span class="kv"><span>book age</span><b class="num age">–</b></span>
    </div>
    <div class="row">
      <div class="panel">
        <h3>Price: mid, best bid / ask and trades · spread below</h3>
        <div class="legend"><span><i style="background:${COLORS.mid}"></i>mid</span><span><i style="background:${COLORS.bid}"></i>best bid</span><span><i style="background:${COLORS.ask}"></i>best ask</span><span><i class="pt" style="background:${COLORS.buy}"></i>trades, buyers (1 s VWAP, size = volume)</span><span><i class="pt" style="background:${COLORS.sell}"></i>sellers</span><span><i style="background:rgba(235,203,139,.6)"></i>resyncing</span><span><i style="background:${COLORS.info}"></i>re-anchor</span></div>
        <div class="chart price-chart"></div>
        <div class="chart spread-chart"></div>
      </div>
      <div class="panel">
        <h3>Book: top 10 levels</h3>
        <table class="ladder"><thead><tr><th>bid qty</th><th>price</th><th>ask qty</th></tr></thead><tbody></tbody></table>
      </div>
    </div>
    <div class="row">
      <div class="panel">
        <h3>Freshness: age of ob:${esc(sym)} as a reader sees it (now − ts_us)</h3>
        <div class="fresh-figs"><span>now <b class="num f-now">–</b></span><span class="ok">P50 <b class="num f-p50">–</b></span><span class="warn">P95 <b class="num f-p95">–</b></span><span class="muted">over the last minute of live polls</span></div>
        <div class="chart fresh-chart"></div>
      </div>
      <div class="panel">
        <h3>Gaps and re-anchors</h3>
        <div class="strip"></div>
        <ol class="events"></ol>
      </div>
    </div>
    <div class="panel prediction" hidden>
      <h3>Prediction (pred:${esc(sym)}) <span class="model muted"></span></h3>
      <div class="pred-row">
        <div class="pred-now">
          <div class="probs"><span class="p-down" title="p_down"></span><span class="p-flat" title="p_flat"></span><span class="p-up" title="p_up"></span></div>
          <div class="legend"><span><i style="background:${COLORS.bad}"></i>down <b class="num v-down">–</b></span><span><i style="background:${COLORS.muted}"></i>flat <b class="num v-flat">–</b></span><span><i style="background:${COLORS.ok}"></i>up <b class="num v-up">–</b></span></div>
          <div class="pred-figs"><span>expected <b class="num v-ret">–</b></span><span class="muted">flat band ± <b class="num v-band">–</b></span><span class="muted">age <b class="num v-age">–</b></span></div>
          <div class="chart pred-chart"></div>
        </div>
        <table class="score"><thead><tr><th>online score</th><th>model</th><th>persistence</th></tr></thead><tbody>
          <tr><td>direction macro-F1</td><td class="num s-f1">–</td><td class="num s-bf1">–</td></tr>
          <tr><td>direction accuracy</td><td class="num s-acc">–</td><td class="num s-bacc">–</td></tr>
          <tr><td>MSE of the return (bp²)</td><td class="num s-mse">–</td><td class="num s-bmse">–</td></tr>
          <tr><td>R² of the return</td><td class="num s-r2">–</td><td class="num">0 or less</td></tr>
          <tr><td>scored predictions</td><td class="num s-n" colspan="2">–</td></tr>
        </tbody></table>
      </div>
    </div>
    <div class="panel">
      <h3>Features (feat:${esc(sym)}, every 2 s)</h3>
      <div class="sparks"></div>
    </div>`;
  document.getElementById('symbols').append(sec);
  const st = {
    sym, sec, x: [], mid: [], bid: [], ask: [], spread: [], age: [], trades: [], feats: [], preds: [], timeline: [],
    freshness: { p50Ms: null, p95Ms: null }, sparks: new Map(),
  };
  const priceNode = sec.querySelector('.price-chart');
  const w = widthOf(priceNode);
  st.price = new uPlot({
    width: w, height: 230, legend: { show: false }, cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [timeAxis(), valueAxis(byStep, 84)],
    series: [{}, { label: 'mid', stroke: COLORS.mid, width: 1.5, points: { show: false } }, { label: 'bid', stroke: COLORS.bid, width: 1.25, points: { show: false } }, { label: 'ask', stroke: COLORS.ask, width: 1.25, points: { show: false } }],
    hooks: { draw: [episodesHook(st), tradesHook(st)] },
  }, [[], [], [], []], priceNode);
  const spreadNode = sec.querySelector('.spread-chart');
  st.spreadChart = new uPlot({
    width: w, height: 90, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: true }, y: { range: (u, mn, mx) => [0, Math.max(mx * 1.25, 1e-9)] } },
    axes: [timeAxis(), { ...valueAxis((v) => fmtNum(v, 4), 84), splits: (u) => [0, u.scales.y.max / 2, u.scales.y.max] }],
    series: [{}, { label: 'spread', stroke: COLORS.warn, width: 1, fill: 'rgba(235,203,139,0.12)', paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
  }, [[], []], spreadNode);
  const freshNode = sec.querySelector('.fresh-chart');
  st.fresh = new uPlot({
    width: widthOf(freshNode), height: 140, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: true }, y: { range: (u, mn, mx) => [0, Math.max(mx * 1.1, 100)] } },
    axes: [timeAxis(), valueAxis((v) => fmtMs(v), 64)],
    series: [{}, { label: 'age', stroke: COLORS.info, width: 1, fill: 'rgba(129,161,193,0.15)', points: { show: false } }],
    hooks: { draw: [episodesHook(st), freshnessHook(st)] },
  }, [[], []], freshNode);
  const predNode = sec.querySelector('.pred-chart');
  st.predChart = new uPlot({
    width: widthOf(predNode), height: 90, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: true }, y: { range: [0, 1] } },
    axes: [timeAxis(), { ...valueAxis((v) => fmtNum(v, 1), 40), splits: () => [0, 0.5, 1] }],
    series: [{}, { label: 'p_down', stroke: COLORS.bad, width: 1.25, points: { show: false } }, { label: 'p_flat', stroke: COLORS.muted, width: 1.25, points: { show: false } }, { label: 'p_up', stroke: COLORS.ok, width: 1.25, points: { show: false } }],
  }, [[], [], [], []], predNode);
  new ResizeObserver(() => {
    const pw = widthOf(priceNode);
    st.price.setSize({ width: pw, height: 230 });
    st.spreadChart.setSize({ width: pw, height: 90 });
    st.fresh.setSize({ width: widthOf(freshNode), height: 140 });
    if (!st.sec.querySelector('.prediction').hidden) st.predChart.setSize({ width: widthOf(predNode), height: 90 });
  }).observe(sec);
  symbols.set(sym, st);
  return st;
}

function spark(st, name) {
  let s = st.sparks.get(name);
  if (s) return s;
  const box = el('div', { class: 'spark', 'data-feature': name }, `<div class="name"><span>${esc(name)}</span><span class="v">–</span></div><div class="sl"></div>`);
  st.sec.querySelector('.sparks').append(box);
  const node = box.querySelector('.sl');
  s = {
    box,
    plot: new uPlot({
      width: Math.max(150, Math.floor(box.getBoundingClientRect().width)), height: 34, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: true } }, axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: COLORS.info, width: 1.25, fill: 'rgba(129,161,193,0.10)', points: { show: false } }],
    }, [[], []], node),
  };
  st.sparks.set(name, s);
  return s;
}

function renderLadder(st, book) {
  const qty = (q) => Number(q);
  const maxQ = Math.max(1e-12, ...book.bids.map(([, q]) => qty(q)), ...book.asks.map(([, q]) => qty(q)));
  const rows = [];
  // Asks from the 10th level down to the best, then bids from the best down: a ladder read top to bottom.
  for (const [p, q] of [...book.asks].reverse()) {
    rows.push(`<tr><td class="q"></td><td class="p ask">${esc(p)}</td><td class="q ask"><span class="bar" style="width:${(100 * qty(q)) / maxQ}%"></span>${esc(q)}</td></tr>`);
  }
  for (const [p, q] of book.bids) {
    rows.push(`<tr><td class="q bid"><span class="bar" style="width:${(100 * qty(q)) / maxQ}%"></span>${esc(q)}</td><td class="p bid">${esc(p)}</td><td class="q"></td></tr>`);
  }
  st.sec.querySelector('.ladder tbody').innerHTML = rows.join('') || '<tr><td colspan="3" class="muted">no book yet</td></tr>';
}

function renderTimeline(st, x0, x1) {
  const strip = st.sec.querySelector('.strip');
  const span = Math.max(1, x1 - x0);
  const pos = (t) => `${Math.min(100, Math.max(0, (100 * (t - x0)) / span))}%`;
  const parts = [];
  for (const e of st.timeline) {
    const end = e.end ?? x1;
    if (end < x0) continue;
    const left = Math.max(e.start, x0);
    parts.push(`<div class="span${e.end === null ? ' open' : ''}" style="left:${pos(left)};width:${(100 * (end - left)) / span}%" title="${esc(e.criteria.join(', '))}"></div>`);
    for (const r of e.reanchors) if (r.ms >= x0) parts.push(`<div class="mark" style="left:${pos(r.ms)}" title="re-anchor at update ${esc(r.lastUpdateId)}"></div>`);
  }
  parts.push(`<span class="axis" style="left:4px">${hhmmss(x0)}</span><span class="axis" style="right:4px">now</span>`);
  strip.innerHTML = parts.join('');
  const list = st.sec.querySelector('.events');
  const items = [...st.timeline].reverse().slice(0, 30).map((e) => {
    const what = e.criteria.map((c) => (c === 'no book' ? 'start-up (no book yet)' : c === 'REST check' ? 'REST check' : `${c} gap`)).join(', ');
    const re = e.reanchors.length === 0 ? 'no re-anchor yet' : `${e.reanchors.length} re-anchor${e.reanchors.length > 1 ? 's' : ''} (to update ${esc(e.reanchors[e.reanchors.length - 1].lastUpdateId)})`;
    const retries = e.noticedBy === 'rest' ? ', found by the REST checks' : e.requests > 1 ? `, ${e.requests} requests` : '';
    const dur = e.end === null ? `<span class="bad">resyncing for ${fmtMs(e.durationMs)}</span>` : `resynced in ${fmtMs(e.durationMs)}`;
    return `<li class="${e.end === null ? 'open' : 'closed'}" data-start="${e.start}" data-criteria="${esc(e.criteria.join(','))}" data-reanchors="${e.reanchors.length}" data-open="${e.end === null}"><span class="num">${hhmmss(e.start)}</span><span class="what"><b>${esc(what)}</b></span><span class="num">${dur}</span><span class="detail muted">${re}${retries}</span></li>`;
  });
  list.innerHTML = items.join('') || '<span class="none">no gap and no re-anchor in the last 15 minutes</span>';
}

function trimTo(st, cutoff) {
  let i = 0;
  while (i < st.x.length && st.x[i] < cutoff / 1000) i++;
  if (i > 0) for (const k of ['x', 'mid', 'bid', 'ask', 'spread', 'age']) st[k].splice(0, i);
  while (st.trades.length && st.trades[0].t < cutoff) st.trades.shift();
  while (st.feats.length && st.feats[0].t < cutoff) st.feats.shift();
  while (st.preds.length && st.preds[0].t < cutoff) st.preds.shift();
}

/** The prediction panel: shown once pred:SYM or the aggregator's score of it exists (a model is served). */
function renderPrediction(st, p, xr) {
  const box = st.sec.querySelector('.prediction');
  if (!p) {
    box.hidden = true;
    return;
  }
  const first = box.hidden;
  box.hidden = false;
  const q = (c) => box.querySelector(c);
  const pct = (v) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
  q('.model').textContent = p.modelId ? `model ${p.modelId}${p.horizonSeconds ? ` · ${p.horizonSeconds} s ahead` : ''}` : '';
  q('.p-down').style.width = `${100 * (p.pDown ?? 0)}%`;
  q('.p-flat').style.width = `${100 * (p.pFlat ?? 0)}%`;
  q('.p-up').style.width = `${100 * (p.pUp ?? 0)}%`;
  q('.v-down').textContent = pct(p.pDown);
  q('.v-flat').textContent = pct(p.pFlat);
  q('.v-up').textContent = pct(p.pUp);
  q('.v-ret').textContent = p.expectedRetBp === null ? '–' : `${p.expectedRetBp >= 0 ? '+' : ''}${p.expectedRetBp.toFixed(3)} bp`;
  q('.v-band').textContent = p.bandBp === null ? '–' : `${p.bandBp.toFixed(3)} bp`;
  q('.v-age').textContent = fmtMs(p.ageMs);
  const s = p.score;
  const f3 = (v) => (v === null || v === undefined ? '–' : v.toFixed(3));
  const better = (m, b, higher) => (m === null || b === null ? '' : (higher ? m > b : m < b) ? 'ok' : 'warn');
  q('.s-f1').textContent = f3(s?.macroF1);
  q('.s-f1').className = `num s-f1 ${better(s?.macroF1 ?? null, s?.baselineMacroF1 ?? null, true)}`;
  q('.s-bf1').textContent = f3(s?.baselineMacroF1);
  q('.s-acc').textContent = pct(s?.accuracy ?? null);
  q('.s-bacc').textContent = pct(s?.baselineAccuracy ?? null);
  q('.s-mse').textContent = s?.mse === null || s?.mse === undefined ? '–' : fmtNum(s.mse * 1e8, 3);
  q('.s-mse').className = `num s-mse ${better(s?.mse ?? null, s?.baselineMse ?? null, false)}`;
  q('.s-bmse').textContent = s?.baselineMse === null || s?.baselineMse === undefined ? '–' : fmtNum(s.baselineMse * 1e8, 3);
  q('.s-r2').textContent = f3(s?.r2);
  q('.s-n').textContent = s ? String(s.scored) : 'no score yet';
  if (first) st.predChart.setSize({ width: widthOf(q('.pred-chart')), height: 90 });
  st.predChart.setData([st.preds.map((x) => x.t / 1000), st.preds.map((x) => x.down), st.preds.map((x) => x.flat), st.preds.map((x) => x.up)], false);
  st.predChart.setScale('x', xr);
}

function renderSymbol(v, nowMs) {
  const st = symbols.get(v.symbol) ?? createSymbol(v.symbol);
  for (const s of v.samples) {
    st.x.push(s.t / 1000);
    st.mid.push(s.live ? s.mid : null);
    st.bid.push(s.live ? s.bid : null);
    st.ask.push(s.live ? s.ask : null);
    st.spread.push(s.live ? s.spread : null);
    st.age.push(s.live ? s.ageMs : null);
  }
  st.trades.push(...v.trades);
  st.feats.push(...v.features);
  st.preds.push(...(v.predictions ?? []));
  st.timeline = v.timeline;
  st.freshness = v.freshness;
  trimTo(st, nowMs - VIEW_MS);
  // Until there are five minutes of history the charts span what there is.
  const x0 = Math.max(nowMs - VIEW_MS, (st.x[0] ?? nowMs / 1000) * 1000 - 1000);
  st.sec.dataset.points = String(st.x.length);

  const badge = st.sec.querySelector('.badge.status');
  badge.textContent = v.status === 'live' ? 'LIVE' : v.status === 'resyncing' ? 'RESYNCING' : v.status.toUpperCase();
  badge.className = `badge status ${v.status === 'live' ? 'ok' : v.status === 'resyncing' ? 'warn' : 'bad'}`;
  const q = (c) => st.sec.querySelector(c);
  q('.mid').textContent = v.mid ?? '–';
  q('.bbo').textContent = v.bestBid && v.bestAsk ? `${v.bestBid} / ${v.bestAsk}` : '–';
  const bp = v.spread && v.mid ? ` (${((10000 * Number(v.spread)) / Number(v.mid)).toPrecision(2)} bp)` : '';
  q('.spread').textContent = v.spread ? `${v.spread}${bp}` : '–';
  q('.uid').textContent = v.lastUpdateId ?? '–';
  const f = v.freshness;
  const ageTone = f.ageMs === null ? 'muted' : f.ageMs > 5000 ? 'bad' : f.ageMs > 1500 ? 'warn' : 'ok';
  q('.age').textContent = fmtMs(f.ageMs);
  q('.age').className = `num age ${ageTone}`;
  q('.f-now').textContent = fmtMs(f.ageMs);
  q('.f-p50').textContent = fmtMs(f.p50Ms);
  q('.f-p95').textContent = fmtMs(f.p95Ms);

  const xr = { min: x0 / 1000, max: nowMs / 1000 };
  st.price.setData([st.x, st.mid, st.bid, st.ask], false);
  st.price.setScale('x', xr);
  st.spreadChart.setData([st.x, st.spread], false);
  st.spreadChart.setScale('x', xr);
  st.fresh.setData([st.x, st.age], false);
  st.fresh.setScale('x', xr);
  renderLadder(st, v.book);
  renderTimeline(st, x0, nowMs);
  renderPrediction(st, v.prediction ?? null, xr);

  const names = SPARK_FEATURES.filter((n) => st.feats.some((p) => n in p.values));
  for (const n of names) {
    const s = spark(st, n);
    const xs = st.feats.map((p) => p.t / 1000);
    const ys = st.feats.map((p) => (n in p.values ? p.values[n] : null));
    s.plot.setData([xs, ys]);
    const last = ys[ys.length - 1];
    s.box.querySelector('.v').textContent = last === null ? '–' : Math.abs(last) >= 0.01 || last === 0 ? fmtNum(last) : last.toExponential(2);
  }
}

function renderServices(cards) {
  const box = document.getElementById('services');
  box.innerHTML = cards
    .map(
      (c) => `<div class="card" data-service="${esc(c.name)}" data-status="${esc(c.status)}"><div class="title"><b>${esc(c.name)}</b><span class="${c.tone}"><span class="dot"></span>${esc(c.status)}</span></div><ul>${c.lines
        .map((l) => `<li><span class="label">${esc(l.label)}</span><span class="${l.tone === 'ok' ? '' : l.tone}">${esc(l.text)}</span></li>`)
        .join('')}</ul></div>`,
    )
    .join('');
}

async function poll() {
  const upd = document.getElementById('updated');
  try {
    const res = await fetch(`/api/state?since=${seq}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const s = await res.json();
    // A restarted dashboard numbers its polls from 1 again: start over rather than mix the two.
    if (s.seq < seq) {
      for (const st of symbols.values()) st.sec.remove();
      symbols.clear();
      seq = 0;
      return;
    }
    seq = s.seq;
    lastNowMs = s.nowMs;
    renderServices(s.services);
    for (const v of s.symbols) renderSymbol(v, s.nowMs);
    document.getElementById('links').innerHTML = Object.entries(s.links).map(([k, v]) => `<a href="${esc(v)}">${esc(k)}</a>`).join('');
    const alerts = [];
    if (s.redisError) alerts.push(`<span class="bad">Redis: ${esc(s.redisError)}</span>`);
    if (s.deadletter !== null) alerts.push(`<span class="${s.deadletter > 0 ? 'warn' : 'muted'}">dead letters: ${s.deadletter}</span>`);
    document.getElementById('alerts').innerHTML = alerts.join(' ');
    upd.textContent = `updated ${hhmmss(s.nowMs)} · poll #${s.seq}`;
    upd.dataset.seq = String(s.seq);
    upd.className = 'muted';
  } catch (err) {
    upd.textContent = `dashboard server not answering (${err.message}); retrying`;
    upd.className = 'bad';
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

for (const k of ['muted', 'line', 'ok', 'warn', 'bad', 'info', 'bid', 'ask', 'mid', 'buy', 'sell']) COLORS[k] = css(`--${k}`);
poll();
