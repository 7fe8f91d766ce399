// The kafkasim run report: draws the data embedded in this page.
// No network access: everything it needs is in the page itself.
(function () {
  'use strict';
  // Milestones of the first render (ms since navigation start), for the self-test.
  const marks = { script: performance.now() };

  // ---- errors, for the self-test ------------------------------------------------
  const errors = [];
  window.addEventListener('error', (e) => errors.push('error: ' + (e.message || String(e))));
  window.addEventListener('unhandledrejection', (e) => errors.push('rejection: ' + e.reason));
  const consoleError = console.error.bind(console);
  console.error = function (...args) {
    errors.push('console.error: ' + args.map(String).join(' '));
    consoleError(...args);
  };

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const selftestMode = params.has('selftest');

  // The page opens with the summary, the overview of the trace and whatever
  // data is small enough to be inside it (the first chunk of the trace, small
  // partition and group details); the rest it loads from files beside it.
  let summary, runOverview;
  const inlineData = new Map(); // key → JSON text, parsed when first needed
  try {
    summary = JSON.parse($('kafkasim-summary').textContent);
    runOverview = JSON.parse($('kafkasim-overview').textContent);
    for (const node of document.querySelectorAll('script.kafkasim-inline')) {
      inlineData.set(node.dataset.key, node.textContent);
      node.remove();
    }
    for (const id of ['kafkasim-summary', 'kafkasim-overview']) $(id).remove();
    marks.parsed = performance.now();
  } catch (e) {
    errors.push('the embedded data does not parse: ' + e.message);
    const out = $('selftest');
    out.hidden = false;
    out.textContent = 'FAIL ' + errors.join('; ');
    return;
  }

  // ---- loading data files --------------------------------------------------------------
  // A file `KEY.js` beside the page calls kafkasimLoaded(KEY, data). A script
  // element, not fetch: a page opened from disk may run scripts beside it but
  // not read them.
  const waiting = new Map(); // key → resolve
  const loads = new Map(); // key → Promise of the data
  let pendingLoads = 0;
  const idleWaiters = [];
  window.kafkasimLoaded = (key, data) => {
    const resolve = waiting.get(key);
    if (resolve) { waiting.delete(key); resolve(data); }
  };

  function loadFile(key) {
    return new Promise((resolve, reject) => {
      waiting.set(key, resolve);
      const script = document.createElement('script');
      script.src = key + '.js';
      script.onload = () => {
        script.remove();
        if (waiting.delete(key)) reject(new Error(key + '.js did not hand over its data'));
      };
      script.onerror = () => {
        script.remove();
        waiting.delete(key);
        reject(new Error('cannot load ' + key + '.js (is the report directory complete?)'));
      };
      document.body.append(script);
    });
  }

  // The data of KEY: from inside the page if it is there, else from its file.
  function load(key) {
    if (loads.has(key)) return loads.get(key);
    let promise;
    if (inlineData.has(key)) {
      const text = inlineData.get(key);
      inlineData.delete(key);
      promise = new Promise((resolve) => resolve(JSON.parse(text)));
    } else {
      promise = loadFile(key);
    }
    pendingLoads++;
    promise = promise.finally(() => {
      pendingLoads--;
      if (pendingLoads === 0) for (const wake of idleWaiters.splice(0)) wake();
    });
    loads.set(key, promise);
    return promise;
  }

  // Resolves once no file is loading.
  function whenIdle() {
    return pendingLoads === 0 ? Promise.resolve() : new Promise((wake) => idleWaiters.push(wake));
  }

  // Inline data, at once (null when the page does not hold it).
  function takeInline(key) {
    if (!inlineData.has(key)) return null;
    const text = inlineData.get(key);
    inlineData.delete(key);
    return JSON.parse(text);
  }

  // ---- small helpers ---------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'style') node.style.cssText = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) node.append(c);
    }
    return node;
  }

  function fmtMs(ms) {
    if (Math.abs(ms) >= 10000) return (ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1) + ' s';
    if (Math.abs(ms) >= 1000) return (ms / 1000).toFixed(2) + ' s';
    return Math.round(ms) + ' ms';
  }

  // First index i with arr[i] >= value (arr sorted ascending).
  function lowerBound(arr, value, n) {
    let lo = 0;
    let hi = n === undefined ? arr.length : n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (arr[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function hashString(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
    '#17becf', '#bcbd22', '#7f7f7f', '#393b79', '#ad494a', '#637939', '#843c39', '#3182bd'];
  const KIND_COLORS = {
    Produce: '#1f6feb', Fetch: '#2da44e', OffsetsForLeaderEpoch: '#8c564b', ListOffsets: '#17becf',
    AlterPartition: '#8250df', ElectLeaders: '#cf222e', CreateTopics: '#bc4c00',
    JoinGroup: '#e377c2', SyncGroup: '#d63384', Heartbeat: '#c9a0dc', LeaveGroup: '#a40e26',
    OffsetCommit: '#fb8500', OffsetFetch: '#b08800', FindCoordinator: '#6e7781',
    InitProducerId: '#57606a', Metadata: '#8c959f', BrokerHeartbeat: '#afb8c1',
    ClusterMetadataFetch: '#afb8c1', BrokerRegistration: '#6639ba',
  };
  // Chatter drawn faintly, so the interesting messages stand out.
  const QUIET_KINDS = new Set(['BrokerHeartbeat', 'ClusterMetadataFetch', 'Metadata', 'Heartbeat']);
  const LANE_COLORS = { controller: '#8250df', broker: '#1f6feb', client: '#1a7f37' };
  const IMPORTANT_EVENTS = new Set(['LeaderElected', 'IsrChanged', 'Truncated', 'BrokerFenced',
    'BrokerUnfenced', 'GenerationStarted', 'RebalanceStarted', 'MemberRemoved', 'TopicCreated',
    'CommitRejected', 'StaticMemberReplaced', 'BrokerRegistered']);
  const EVENT_COLORS = {
    LeaderElected: '#cf222e', IsrChanged: '#8250df', Truncated: '#d1242f', BrokerFenced: '#bc4c00',
    BrokerUnfenced: '#2da44e', GenerationStarted: '#d63384', RebalanceStarted: '#e377c2',
    MemberRemoved: '#a40e26', TopicCreated: '#bc4c00', HighWatermark: '#0969da',
    Appended: '#57606a', OffsetCommitted: '#fb8500',
  };
  // Keyed by the fault's kind, as scenario files write it.
  const FAULT_STYLES = {
    'crash': { fill: 'rgba(207, 34, 46, 0.16)', stroke: '#cf222e', label: 'crashed' },
    'power-loss': { fill: 'rgba(207, 34, 46, 0.28)', stroke: '#a40e26', label: 'power lost' },
    'client-crash': { fill: 'rgba(207, 34, 46, 0.16)', stroke: '#cf222e', label: 'crashed' },
    'pause': { fill: 'rgba(224, 160, 0, 0.22)', stroke: '#b08800', label: 'paused' },
    'client-pause': { fill: 'rgba(224, 160, 0, 0.22)', stroke: '#b08800', label: 'paused' },
    'isolate': { fill: 'rgba(130, 80, 223, 0.16)', stroke: '#8250df', label: 'isolated' },
    'link-cut': { fill: 'rgba(130, 80, 223, 0.12)', stroke: '#8250df', label: 'link cut' },
    'client-cut': { fill: 'rgba(130, 80, 223, 0.12)', stroke: '#8250df', label: 'client cut' },
    'lost-response': { fill: 'rgba(207, 34, 46, 0.5)', stroke: '#cf222e', label: 'lost response' },
    'split': { fill: 'rgba(130, 80, 223, 0.16)', stroke: '#8250df', label: 'split off' },
    'one-way': { fill: 'rgba(130, 80, 223, 0.10)', stroke: '#8250df', label: 'one way' },
    'flaky-link': { fill: 'rgba(130, 80, 223, 0.08)', stroke: '#8250df', label: 'flaky link' },
    'slow-network': { fill: 'rgba(9, 105, 218, 0.08)', stroke: '#0969da', label: 'slow network' },
  };
  // Faults of the network (their band's label goes at the bottom).
  const NETWORK_FAULTS = new Set(['link-cut', 'isolate', 'client-cut', 'split', 'one-way', 'flaky-link', 'slow-network']);
  const EPOCH_COLORS = ['#dbeafe', '#fde68a', '#bbf7d0', '#fbcfe8', '#ddd6fe', '#fed7aa', '#a5f3fc',
    '#e5e7eb', '#fecaca', '#d9f99d'];
  const epochColor = (e) => (e < 0 ? '#eeeeee' : EPOCH_COLORS[e % EPOCH_COLORS.length]);
  const kindColor = (k) => KIND_COLORS[k] || PALETTE[hashString(k) % PALETTE.length];
  const memberColor = (m) => PALETTE[hashString(m) % PALETTE.length];

  // ---- the model ---------------------------------------------------------------------
  const chunks = runOverview.chunks;
  const lastChunk = chunks[chunks.length - 1];
  const END = Math.max(1, summary.simulated_ms, lastChunk ? lastChunk.end_ms : 0);
  const TRACE_LINES = lastChunk ? lastChunk.first_seq + lastChunk.lines : 0;
  const chunkKey = (n) => 'chunks/' + String(n).padStart(4, '0');
  const chunkStart = Float64Array.from(chunks, (c) => c.start_ms);
  const chunkEnd = Float64Array.from(chunks, (c) => c.end_ms);
  const chunkFirst = Float64Array.from(chunks, (c) => c.first_seq);
  // The diagram draws messages while its window spans at most this many
  // chunks; a wider window shows the overview's message counts instead.
  const WINDOW_CHUNKS_MAX = 12;
  // Chunks kept in memory: those of the window, and recent ones up to this.
  const KEPT_CHUNKS_MAX = 16;
  const loaded = new Map(); // chunk number → its trace lines
  const failedChunks = new Set();

  const lanes = summary.nodes.map((n) => ({
    id: n.id,
    kind: n.kind,
    machine: n.machine,
    label: n.machine ? n.id + ' (' + n.machine + ')' : n.id,
    visible: true,
  }));
  const laneOf = new Map(lanes.map((l, i) => [l.id, i]));
  const lanesOfMachine = new Map();
  lanes.forEach((l, i) => {
    if (l.machine) {
      if (!lanesOfMachine.has(l.machine)) lanesOfMachine.set(l.machine, []);
      lanesOfMachine.get(l.machine).push(i);
    }
  });
  const laneIndex = (name) => (laneOf.has(name) ? laneOf.get(name) : -1);

  const partitionNames = new Set(summary.partitions.map((p) => p.partition));
  for (const p of runOverview.partitions) partitionNames.add(p);
  const partitions = Array.from(partitionNames).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const partitionIndex = new Map(partitions.map((p, i) => [p, i]));

  // Message kinds over the whole run, from the overview.
  const kinds = Object.keys(runOverview.kinds);
  const kindIndex = new Map(kinds.map((k, i) => [k, i]));
  const kindCount = kinds.map((k) => runOverview.kinds[k]);

  // The loaded chunks' messages, in delivery order, as typed arrays: 100,000s
  // of them stay cheap. Rebuilt whenever a chunk comes or goes.
  let M = 0;
  let mTime = new Float64Array(0);
  let mSent = new Float64Array(0);
  let mFrom = new Int32Array(0);
  let mTo = new Int32Array(0);
  let mKind = new Int32Array(0);
  let mSeq = new Int32Array(0);
  let mResp = new Uint8Array(0);
  let mParts = [];
  // Messages that took long (a stalled link): checked on every frame, not culled
  // by delivery time.
  const LONG_SPAN_MS = 50;
  let longMsgs = [];
  let nodeEvents = [];
  let timelineEvents = [];
  let nTime = new Float64Array(0);
  let tTime = new Float64Array(0);

  function rebuildModel() {
    const order = Array.from(loaded.keys()).sort((a, b) => a - b);
    M = 0;
    for (const n of order) for (const e of loaded.get(n)) if (e.type === 'message') M++;
    mTime = new Float64Array(M);
    mSent = new Float64Array(M);
    mFrom = new Int32Array(M);
    mTo = new Int32Array(M);
    mKind = new Int32Array(M);
    mSeq = new Int32Array(M);
    mResp = new Uint8Array(M);
    mParts = new Array(M);
    longMsgs = [];
    nodeEvents = [];
    timelineEvents = [];
    let i = 0;
    for (const n of order) {
      for (const e of loaded.get(n)) {
        if (e.type === 'message') {
          let k = kindIndex.get(e.kind);
          if (k === undefined) {
            k = kinds.length;
            kinds.push(e.kind);
            kindIndex.set(e.kind, k);
            kindCount.push(0);
            kindOn.push(true);
          }
          mTime[i] = e.time_ms;
          mSent[i] = Math.min(e.sent_ms, e.time_ms);
          mFrom[i] = laneIndex(e.from);
          mTo[i] = laneIndex(e.to);
          mKind[i] = k;
          mSeq[i] = e.seq;
          mResp[i] = e.dir === 'response' ? 1 : 0;
          mParts[i] = e.partitions.length ? e.partitions.map((p) => partitionIndex.get(p)) : null;
          if (e.time_ms - e.sent_ms > LONG_SPAN_MS) longMsgs.push(i);
          i++;
        } else if (e.type === 'node') {
          nodeEvents.push({
            seq: e.seq, t: e.time_ms, lane: laneIndex(e.node),
            kind: e.kind, important: IMPORTANT_EVENTS.has(e.kind),
            parts: e.partitions.map((p) => partitionIndex.get(p)),
          });
        } else if (e.type === 'timeline') {
          timelineEvents.push({ seq: e.seq, t: e.time_ms, lane: timelineLane(e.node) });
        }
      }
    }
    nTime = Float64Array.from(nodeEvents, (e) => e.t);
    tTime = Float64Array.from(timelineEvents, (e) => e.t);
  }

  function timelineLane(node) {
    let lane = laneOf.get(node);
    if (lane === undefined && lanesOfMachine.has(node)) lane = lanesOfMachine.get(node)[0];
    return lane === undefined ? -1 : lane;
  }

  // The chunk holding trace line `seq`.
  function chunkOfSeq(seq) {
    return lowerBound(chunkFirst, seq + 1) - 1;
  }

  // Trace line `seq`: in full from a loaded chunk, else as the overview has it
  // (an anomaly's events, without records), else null.
  function eventOf(seq) {
    const n = chunkOfSeq(seq);
    const events = n >= 0 ? loaded.get(n) : undefined;
    if (events) {
      const e = events[seq - chunks[n].first_seq];
      if (e) return e;
    }
    return runOverview.linked[seq] || null;
  }

  // The chunks a window [start, end] needs: those with a line inside it, and
  // those delivering messages sent inside it a little after its end.
  function chunksOf(start, end) {
    return [lowerBound(chunkEnd, start), lowerBound(chunkStart, end + LONG_SPAN_MS + 1e-9)];
  }

  function addChunk(n, events) {
    loaded.set(n, events);
    if (loaded.size > KEPT_CHUNKS_MAX) {
      const [from, to] = chunksOf(view.start, view.end);
      const far = Array.from(loaded.keys()).filter((k) => k < from || k >= to)
        .sort((a, b) => Math.abs(b - n) - Math.abs(a - n));
      for (const k of far.slice(0, loaded.size - KEPT_CHUNKS_MAX)) {
        loaded.delete(k);
        loads.delete(chunkKey(k));
      }
    }
    rebuildModel();
  }

  // Loads the chunks of the window that are missing; returns how many are.
  function requestChunks(from, to) {
    let missing = 0;
    for (let n = from; n < to; n++) {
      if (loaded.has(n) || failedChunks.has(n)) continue;
      missing++;
      if (loads.has(chunkKey(n))) continue;
      load(chunkKey(n)).then((events) => {
        addChunk(n, events);
        requestDraw();
      }, (e) => {
        failedChunks.add(n);
        console.error('chunk ' + n + ': ' + e.message);
      });
    }
    return missing;
  }

  {
    const first = takeInline(chunkKey(0));
    if (first) loaded.set(0, first);
  }
  const kindOn = kinds.map(() => true);
  rebuildModel();
  marks.model = performance.now();

  const bands = summary.faults.map((f) => {
    const set = new Set();
    for (const n of f.nodes) if (laneOf.has(n)) set.add(laneOf.get(n));
    if (f.client && lanesOfMachine.has(f.client)) for (const l of lanesOfMachine.get(f.client)) set.add(l);
    return { kind: f.kind, lanes: Array.from(set), start: f.start_ms, end: f.end_ms === null ? END : f.end_ms, text: f.text, seq: f.start_seq };
  });

  // ---- view state --------------------------------------------------------------------
  // The first window: the first chunk (the whole run when it is one chunk).
  const view = {
    start: 0,
    end: chunks.length > 1 ? Math.max(2, chunks[0].end_ms) : END,
    partition: -1,
    showNodeEvents: true,
    showTimeline: true,
    highlight: new Set(),
    selected: -1,
  };
  const stats = { frames: 0, arrows: 0, highlighted: 0, lanes: 0, logCells: 0, groups: 0 };
  let firstWindowMs = null;
  let firstArrows = 0;
  let firstWindowEnd = 0;

  // ---- header, verdict ---------------------------------------------------------------
  function renderHeader() {
    $('title').textContent = 'kafkasim: ' + summary.scenario + ', seed ' + summary.seed;
    $('run-facts').textContent = summary.messages.toLocaleString('en') + ' messages delivered, ' +
      summary.trace_events.toLocaleString('en') + ' trace events, ' +
      (summary.simulated_ms / 1000).toFixed(3) + ' s simulated, trace hash ' + summary.trace_hash;
    const v = summary.verdict;
    const ok = v.kind === 'ok';
    $('verdict').append(
      el('span', { class: 'badge ' + (ok ? 'ok' : 'bad') }, ok ? 'ok' : 'FAILED (' + v.kind + ')'),
      el('span', { class: 'reason' }, ok ? 'every check passed' : 'failing: ' + v.failing_kinds.join(', ')),
      el('div', { class: 'hint' }, 'replay: ', el('code', {}, summary.replay)));
    if (summary.bugs.length) {
      $('verdict').append(el('div', { class: 'hint' },
        'bugs switched on (kafkasim bugs): ' + summary.bugs.join(', ')));
    }
    const list = $('anomalies');
    summary.anomalies.forEach((a, i) => {
      const link = el('a', {
        class: 'anomaly-link', href: '#', 'data-index': String(i),
        onclick: (ev) => { ev.preventDefault(); focusAnomaly(i, true); },
      }, a.text);
      list.append(el('li', {},
        el('span', { class: 'badge ' + (a.allowed ? 'allowed' : 'bad') }, a.allowed ? 'allowed' : 'failure'),
        ' ', link, el('span', { class: 'hint' }, ' (' + a.events.length + ' events)')));
    });
    const goals = Object.entries(summary.goals).map(([g, n]) => g + ' ×' + n);
    $('goals').textContent = goals.length ? 'reached: ' + goals.join(', ') : '';
  }

  // ---- filters ---------------------------------------------------------------------
  function renderFilters() {
    const select = $('partition-filter');
    for (const p of partitions) select.append(el('option', { value: p }, p));
    select.addEventListener('change', () => {
      view.partition = select.value === '' ? -1 : partitionIndex.get(select.value);
      requestDraw();
    });
    $('show-node-events').addEventListener('change', (e) => { view.showNodeEvents = e.target.checked; requestDraw(); });
    $('show-timeline').addEventListener('change', (e) => { view.showTimeline = e.target.checked; requestDraw(); });
    const nodes = $('node-filter');
    lanes.forEach((l, i) => {
      const box = el('input', { type: 'checkbox', 'data-lane': String(i) });
      box.checked = true;
      box.addEventListener('change', () => { lanes[i].visible = box.checked; layoutDiagram(); requestDraw(); });
      nodes.append(el('label', {}, box, el('span', { class: 'swatch', style: 'background:' + LANE_COLORS[l.kind] }), l.label));
    });
    const kindsBox = $('kind-filter');
    const order = kinds.map((k, i) => i).sort((a, b) => kindCount[b] - kindCount[a]);
    for (const k of order) {
      const box = el('input', { type: 'checkbox', 'data-kind': String(k) });
      box.checked = true;
      box.addEventListener('change', () => { kindOn[k] = box.checked; requestDraw(); });
      kindsBox.append(el('label', {}, box, el('span', { class: 'swatch', style: 'background:' + kindColor(kinds[k]) }),
        kinds[k] + ' (' + kindCount[k].toLocaleString('en') + ')'));
    }
    for (const button of document.querySelectorAll('button.all-none')) {
      button.addEventListener('click', () => {
        const boxes = $(button.dataset.target).querySelectorAll('input');
        const on = !Array.from(boxes).every((b) => b.checked);
        for (const b of boxes) { b.checked = on; b.dispatchEvent(new Event('change')); }
      });
    }
    const legend = $('legend');
    for (const [kind, style] of Object.entries(FAULT_STYLES)) {
      if (kind === 'client-crash' || kind === 'client-pause') continue; // styled as crash, pause
      legend.append(el('span', {}, el('span', { class: 'swatch', style: 'background:' + style.fill + ';border:1px solid ' + style.stroke }), style.label));
    }
    legend.append(el('span', {}, '◆ node event (large: elections, ISR changes, truncations, rebalances)'),
      el('span', {}, '│ timeline line (top strip)'), el('span', {}, 'faint arrows: heartbeats and metadata'));
  }

  // ---- the diagram -------------------------------------------------------------------
  const canvas = $('diagram');
  const ctx = canvas.getContext('2d');
  const overview = $('overview');
  const octx = overview.getContext('2d');
  const LEFT = 200;
  const RIGHT = 14;
  const AXIS = 24;
  const STRIP = 16;
  let W = 800;
  let H = 400;
  let laneH = 34;
  let laneY = new Float64Array(lanes.length); // center y; -1 when hidden
  let drawnMsgs = new Int32Array(0);
  let drawnCount = 0;
  let drawnMarks = [];

  function layoutDiagram() {
    const dpr = window.devicePixelRatio || 1;
    W = Math.max(400, canvas.parentElement.clientWidth || 800);
    const visible = lanes.filter((l) => l.visible).length;
    laneH = Math.max(22, Math.min(40, Math.floor(560 / Math.max(1, visible))));
    H = AXIS + STRIP + visible * laneH + 8;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    canvas.style.height = H + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    let y = AXIS + STRIP + laneH / 2;
    laneY = new Float64Array(lanes.length);
    lanes.forEach((l, i) => {
      if (l.visible) { laneY[i] = y; y += laneH; } else laneY[i] = -1;
    });
    stats.lanes = visible;
    overview.width = Math.round(W * dpr);
    overview.height = Math.round(46 * dpr);
    octx.setTransform(dpr, 0, 0, dpr, 0, 0);
    overviewBins = null;
  }

  const xOf = (t) => LEFT + (t - view.start) / (view.end - view.start) * (W - LEFT - RIGHT);
  const tOf = (x) => view.start + (x - LEFT) / (W - LEFT - RIGHT) * (view.end - view.start);

  function niceStep(span, target) {
    const raw = span / target;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function messageVisible(i) {
    if (!kindOn[mKind[i]]) return false;
    const a = mFrom[i];
    const b = mTo[i];
    if (a < 0 || b < 0 || laneY[a] < 0 || laneY[b] < 0) return false;
    if (view.partition >= 0) {
      const parts = mParts[i];
      if (!parts || parts.indexOf(view.partition) < 0) return false;
    }
    return true;
  }

  // The messages whose arrow crosses the window, in delivery order.
  function visibleMessages() {
    const out = [];
    const from = lowerBound(mTime, view.start);
    const to = lowerBound(mTime, view.end + LONG_SPAN_MS);
    for (let i = from; i < to; i++) {
      if (mSent[i] <= view.end && messageVisible(i)) out.push(i);
    }
    for (const i of longMsgs) {
      if ((i < from || i >= to) && mSent[i] <= view.end && mTime[i] >= view.start && messageVisible(i)) out.push(i);
    }
    return out;
  }

  const MAX_ARROWS = 20000;

  function drawArrow(i, color, width, head) {
    arrow(mSent[i], laneY[mFrom[i]], mTime[i], laneY[mTo[i]], color, width, head);
  }

  function arrow(sentMs, y1, timeMs, y2, color, width, head) {
    const x1 = xOf(sentMs);
    const x2 = xOf(timeMs);
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
    if (head) {
      const angle = Math.atan2(y2 - y1, x2 - x1);
      const size = 3 + width * 2;
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.moveTo(x2, y2);
      ctx.lineTo(x2 - size * Math.cos(angle - 0.4), y2 - size * Math.sin(angle - 0.4));
      ctx.lineTo(x2 - size * Math.cos(angle + 0.4), y2 - size * Math.sin(angle + 0.4));
      ctx.closePath();
      ctx.fill();
    }
  }

  function diamond(x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x, y - r);
    ctx.lineTo(x + r, y);
    ctx.lineTo(x, y + r);
    ctx.lineTo(x - r, y);
    ctx.closePath();
  }

  function nodeEventVisible(e) {
    if (e.lane < 0 || laneY[e.lane] < 0) return false;
    if (view.partition >= 0 && e.parts.indexOf(view.partition) < 0) return false;
    return true;
  }

  function draw() {
    drawScheduled = false;
    const span = view.end - view.start;
    ctx.clearRect(0, 0, W, H);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    // Lanes.
    lanes.forEach((l, i) => {
      const y = laneY[i];
      if (y < 0) return;
      ctx.fillStyle = (Math.round((y - AXIS - STRIP) / laneH) % 2) ? '#fafbfc' : '#ffffff';
      ctx.fillRect(0, y - laneH / 2, W, laneH);
      ctx.strokeStyle = '#d0d7de';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(LEFT, y);
      ctx.lineTo(W - RIGHT, y);
      ctx.stroke();
      ctx.fillStyle = LANE_COLORS[l.kind] || '#333';
      ctx.fillText(l.label.length > 30 ? l.label.slice(0, 29) + '…' : l.label, 8, y);
    });
    // Time axis.
    const step = niceStep(span, Math.max(2, (W - LEFT) / 110));
    ctx.fillStyle = '#57606a';
    ctx.strokeStyle = '#eaeef2';
    ctx.textAlign = 'center';
    for (let t = Math.ceil(view.start / step) * step; t <= view.end; t += step) {
      const x = xOf(t);
      ctx.beginPath();
      ctx.moveTo(x, AXIS);
      ctx.lineTo(x, H);
      ctx.stroke();
      ctx.fillText(fmtMs(t), x, AXIS / 2);
    }
    ctx.textAlign = 'left';
    ctx.fillStyle = '#57606a';
    ctx.fillText('timeline', 8, AXIS + STRIP / 2);
    // Fault bands.
    for (const b of bands) {
      if (b.end < view.start || b.start > view.end) continue;
      const style = FAULT_STYLES[b.kind] || FAULT_STYLES['link-cut'];
      const x1 = Math.max(LEFT, xOf(b.start));
      const x2 = Math.min(W - RIGHT, Math.max(xOf(b.end), x1 + 3));
      for (const l of b.lanes) {
        const y = laneY[l];
        if (y < 0) continue;
        ctx.fillStyle = style.fill;
        ctx.fillRect(x1, y - laneH / 2 + 2, x2 - x1, laneH - 4);
        ctx.strokeStyle = style.stroke;
        ctx.lineWidth = view.highlight.has(b.seq) ? 2.5 : 1;
        ctx.strokeRect(x1, y - laneH / 2 + 2, x2 - x1, laneH - 4);
        if (x2 - x1 > 60) {
          // Network faults label the bottom of the band, process faults the top,
          // so two bands on one lane keep both labels readable.
          const network = NETWORK_FAULTS.has(b.kind);
          ctx.fillStyle = style.stroke;
          ctx.fillText(style.label, x1 + 4, network ? y + laneH / 2 - 9 : y - laneH / 2 + 9);
        }
      }
    }
    // Messages: those of the loaded chunks, or the overview's counts when the
    // window spans too many chunks to load.
    const [chunkFrom, chunkTo] = chunksOf(view.start, view.end);
    const wide = chunkTo - chunkFrom > WINDOW_CHUNKS_MAX;
    const missing = wide ? 0 : requestChunks(chunkFrom, chunkTo);
    const visible = wide ? [] : visibleMessages();
    const sample = Math.max(1, Math.ceil(visible.length / MAX_ARROWS));
    const heads = visible.length / sample < 3000;
    if (drawnMsgs.length < visible.length) drawnMsgs = new Int32Array(visible.length);
    drawnCount = 0;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, AXIS, W - LEFT - RIGHT, H - AXIS);
    ctx.clip();
    if (wide) drawDensity();
    for (let j = 0; j < visible.length; j += sample) {
      const i = visible[j];
      const quiet = QUIET_KINDS.has(kinds[mKind[i]]);
      ctx.globalAlpha = quiet ? 0.22 : (mResp[i] ? 0.6 : 0.9);
      drawArrow(i, kindColor(kinds[mKind[i]]), 1, heads);
      drawnMsgs[drawnCount++] = i;
    }
    ctx.globalAlpha = 1;
    stats.arrows = drawnCount;
    // Node events.
    drawnMarks = [];
    if (view.showNodeEvents && wide) drawOverviewMarks();
    if (view.showNodeEvents && !wide) {
      const from = lowerBound(nTime, view.start);
      const to = lowerBound(nTime, view.end + 1e-9);
      const many = to - from > 4000;
      for (let k = from; k < to; k++) {
        const e = nodeEvents[k];
        if (!nodeEventVisible(e)) continue;
        if (many && !e.important) continue;
        const x = xOf(e.t);
        const y = laneY[e.lane];
        const r = e.important ? 5 : 2.5;
        ctx.fillStyle = EVENT_COLORS[e.kind] || '#57606a';
        diamond(x, y, r);
        ctx.fill();
        drawnMarks.push({ x, y, seq: e.seq, r: r + 2 });
      }
    }
    // Timeline strip.
    if (view.showTimeline) {
      const from = lowerBound(tTime, view.start);
      const to = lowerBound(tTime, view.end + 1e-9);
      ctx.strokeStyle = '#57606a';
      ctx.lineWidth = 1;
      for (let k = from; k < to; k++) {
        const e = timelineEvents[k];
        const x = xOf(e.t);
        ctx.beginPath();
        ctx.moveTo(x, AXIS + 2);
        ctx.lineTo(x, AXIS + STRIP - 2);
        ctx.stroke();
        drawnMarks.push({ x, y: AXIS + STRIP / 2, seq: e.seq, r: 4 });
      }
    }
    // Highlighted events, on top of everything.
    stats.highlighted = 0;
    for (const seq of view.highlight) {
      if (drawHighlighted(seq, '#e0a000', 3)) stats.highlighted++;
    }
    if (view.selected >= 0) drawHighlighted(view.selected, '#d1242f', 3);
    ctx.restore();
    // Lane labels stay readable over everything.
    ctx.fillStyle = 'rgba(255,255,255,0.0)';
    const counted = wide ? 'about ' + messagesBetween(view.start, view.end).toLocaleString('en') +
      ' message(s), drawn as counts (zoom in to ' + WINDOW_CHUNKS_MAX + ' chunks of the trace or fewer to see each)'
      : visible.length.toLocaleString('en') + ' message(s)';
    $('diagram-status').textContent = 'window ' + fmtMs(view.start) + ' – ' + fmtMs(view.end) +
      ' (' + fmtMs(span) + '): ' + counted +
      (missing ? ' (loading ' + missing + ' chunk(s) of the trace…)' : '') +
      (sample > 1 ? ', showing 1 in ' + sample + ' (zoom in to see each)' : '') +
      (view.highlight.size ? '; ' + view.highlight.size + ' highlighted event(s)' : '');
    $('window-start').value = Math.round(view.start);
    $('window-end').value = Math.round(view.end);
    drawOverview();
    drawHwChart();
    stats.frames++;
  }

  // Draws trace line `seq` marked (from the overview when its chunk is not
  // loaded); false when it is not in the window or not known.
  function drawHighlighted(seq, color, width) {
    const e = eventOf(seq);
    if (!e || e.time_ms < view.start) return false;
    if (e.type === 'message') {
      const from = laneIndex(e.from);
      const to = laneIndex(e.to);
      if (Math.min(e.sent_ms, e.time_ms) > view.end) return false;
      if (from < 0 || to < 0 || laneY[from] < 0 || laneY[to] < 0) return false;
      ctx.globalAlpha = 1;
      arrow(Math.min(e.sent_ms, e.time_ms), laneY[from], e.time_ms, laneY[to], color, width, true);
      return true;
    }
    if (e.time_ms > view.end) return false;
    const x = xOf(e.time_ms);
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    if (e.type === 'node') {
      const lane = laneIndex(e.node);
      if (lane < 0 || laneY[lane] < 0) return false;
      diamond(x, laneY[lane], 8);
      ctx.stroke();
      return true;
    }
    if (e.type === 'fault') {
      ctx.beginPath();
      ctx.moveTo(x, AXIS);
      ctx.lineTo(x, H);
      ctx.stroke();
      return true;
    }
    if (e.type === 'timeline') {
      ctx.beginPath();
      ctx.moveTo(x, AXIS);
      ctx.lineTo(x, AXIS + STRIP);
      ctx.stroke();
      const lane = timelineLane(e.node);
      if (lane >= 0 && laneY[lane] >= 0) {
        ctx.beginPath();
        ctx.arc(x, laneY[lane], 6, 0, 2 * Math.PI);
        ctx.stroke();
      }
      return true;
    }
    return false;
  }

  // Messages delivered in [start, end], from the overview's buckets.
  function messagesBetween(start, end) {
    const size = runOverview.bucket_ms;
    let n = 0;
    const from = Math.max(0, Math.floor(start / size));
    const to = Math.min(runOverview.messages.length - 1, Math.floor(end / size));
    for (let b = from; b <= to; b++) n += runOverview.messages[b];
    return n;
  }

  // A window too wide to load: messages per time bucket, as grey columns
  // behind the lanes.
  function drawDensity() {
    const size = runOverview.bucket_ms;
    const top = AXIS + STRIP;
    const height = H - top - 4;
    const from = Math.max(0, Math.floor(view.start / size));
    const to = Math.min(runOverview.messages.length - 1, Math.floor(view.end / size));
    let max = 1;
    for (let b = from; b <= to; b++) max = Math.max(max, runOverview.messages[b]);
    ctx.fillStyle = 'rgba(87, 96, 106, 0.25)';
    for (let b = from; b <= to; b++) {
      const v = runOverview.messages[b] / max * height;
      const x1 = xOf(b * size);
      const x2 = xOf((b + 1) * size);
      if (v > 0) ctx.fillRect(x1, top + height - v, Math.max(1, x2 - x1), v);
    }
  }

  // A window too wide to load: the overview's elections, ISR changes and the like.
  function drawOverviewMarks() {
    const times = overviewMarkTimes;
    const from = lowerBound(times, view.start);
    const to = lowerBound(times, view.end + 1e-9);
    for (let k = from; k < to; k++) {
      const m = runOverview.marks[k];
      const lane = laneIndex(m.node);
      if (lane < 0 || laneY[lane] < 0) continue;
      if (view.partition >= 0 && !m.partitions.some((p) => partitionIndex.get(p) === view.partition)) continue;
      const x = xOf(m.time_ms);
      ctx.fillStyle = EVENT_COLORS[m.kind] || '#57606a';
      diamond(x, laneY[lane], 5);
      ctx.fill();
      drawnMarks.push({ x, y: laneY[lane], seq: m.seq, r: 7 });
    }
  }
  const overviewMarkTimes = Float64Array.from(runOverview.marks, (m) => m.time_ms);

  // ---- overview: the whole run, and where the window is -------------------------------
  let overviewBins = null;
  function drawOverview() {
    const w = W;
    const h = 46;
    const inner = w - LEFT - RIGHT;
    if (!overviewBins) {
      overviewBins = new Float64Array(Math.max(1, Math.floor(inner)));
      runOverview.messages.forEach((n, bucket) => {
        const t = bucket * runOverview.bucket_ms;
        const b = Math.min(overviewBins.length - 1, Math.floor(t / END * overviewBins.length));
        overviewBins[b] += n;
      });
    }
    const max = overviewBins.reduce((a, b) => Math.max(a, b), 1);
    octx.clearRect(0, 0, w, h);
    octx.fillStyle = '#57606a';
    octx.font = '11px system-ui, sans-serif';
    octx.textBaseline = 'middle';
    octx.fillText('whole run', 8, 12);
    octx.fillText(fmtMs(END), 8, 30);
    octx.fillStyle = '#8c959f';
    for (let b = 0; b < overviewBins.length; b++) {
      const v = overviewBins[b] / max * 30;
      if (v > 0) octx.fillRect(LEFT + b, 34 - v, 1, v);
    }
    for (const band of bands) {
      const style = FAULT_STYLES[band.kind] || FAULT_STYLES['link-cut'];
      const x1 = LEFT + band.start / END * inner;
      const x2 = LEFT + band.end / END * inner;
      octx.fillStyle = style.stroke;
      octx.fillRect(x1, 37, Math.max(2, x2 - x1), 5);
    }
    octx.fillStyle = '#e0a000';
    for (const a of summary.anomalies) {
      const x = LEFT + a.start_ms / END * inner;
      octx.beginPath();
      octx.moveTo(x, 0);
      octx.lineTo(x + 4, 6);
      octx.lineTo(x - 4, 6);
      octx.fill();
    }
    const x1 = LEFT + Math.max(0, view.start) / END * inner;
    const x2 = LEFT + Math.min(END, view.end) / END * inner;
    octx.fillStyle = 'rgba(31, 111, 235, 0.15)';
    octx.strokeStyle = '#1f6feb';
    octx.fillRect(x1, 1, Math.max(2, x2 - x1), h - 2);
    octx.strokeRect(x1, 1, Math.max(2, x2 - x1), h - 2);
  }

  // ---- window changes ------------------------------------------------------------------
  let drawScheduled = false;
  function requestDraw() {
    if (drawScheduled) return;
    drawScheduled = true;
    requestAnimationFrame(draw);
  }

  function setWindow(start, end) {
    const minSpan = 2;
    let span = Math.max(minSpan, end - start);
    span = Math.min(span, END * 1.2 + 10);
    let s = start;
    const lo = -END * 0.1 - 5;
    const hi = END * 1.1 + 5;
    if (s < lo) s = lo;
    if (s + span > hi) s = hi - span;
    view.start = s;
    view.end = s + span;
  }

  function zoom(factor, atT) {
    const t = atT === undefined ? (view.start + view.end) / 2 : atT;
    setWindow(t - (t - view.start) * factor, t + (view.end - t) * factor);
    requestDraw();
  }

  function pan(fraction) {
    const span = view.end - view.start;
    setWindow(view.start + span * fraction, view.end + span * fraction);
    requestDraw();
  }

  function centerOn(t) {
    const span = view.end - view.start;
    setWindow(t - span / 2, t + span / 2);
  }

  function wireDiagram() {
    $('zoom-in').addEventListener('click', () => zoom(0.5));
    $('zoom-out').addEventListener('click', () => zoom(2));
    $('pan-left').addEventListener('click', () => pan(-0.5));
    $('pan-right').addEventListener('click', () => pan(0.5));
    $('zoom-all').addEventListener('click', () => { setWindow(0, END); requestDraw(); });
    const typed = () => {
      const a = Number($('window-start').value);
      const b = Number($('window-end').value);
      if (Number.isFinite(a) && Number.isFinite(b) && b > a) { setWindow(a, b); requestDraw(); }
    };
    $('window-start').addEventListener('change', typed);
    $('window-end').addEventListener('change', typed);
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const t = x > LEFT ? tOf(x) : undefined;
      zoom(Math.pow(1.0015, e.deltaY), t);
    }, { passive: false });
    let drag = null;
    canvas.addEventListener('mousedown', (e) => {
      drag = { x: e.clientX, start: view.start, end: view.end, moved: false };
      canvas.classList.add('dragging');
    });
    window.addEventListener('mouseup', (e) => {
      if (drag && !drag.moved) pick(e);
      drag = null;
      canvas.classList.remove('dragging');
    });
    window.addEventListener('mousemove', (e) => {
      if (drag) {
        const dx = e.clientX - drag.x;
        if (Math.abs(dx) > 2) drag.moved = true;
        const dt = dx / (W - LEFT - RIGHT) * (drag.end - drag.start);
        setWindow(drag.start - dt, drag.end - dt);
        requestDraw();
        $('tooltip').hidden = true;
      } else if (e.target === canvas) {
        hover(e);
      }
    });
    canvas.addEventListener('mouseleave', () => { $('tooltip').hidden = true; });
    canvas.addEventListener('keydown', (e) => {
      if (e.key === '+' || e.key === '=') zoom(0.5);
      else if (e.key === '-') zoom(2);
      else if (e.key === 'ArrowLeft') pan(-0.25);
      else if (e.key === 'ArrowRight') pan(0.25);
      else if (e.key === '0') { setWindow(0, END); requestDraw(); }
      else return;
      e.preventDefault();
    });
    let overviewDrag = false;
    const moveOverview = (e) => {
      const rect = overview.getBoundingClientRect();
      const x = e.clientX - rect.left;
      centerOn((x - LEFT) / (W - LEFT - RIGHT) * END);
      requestDraw();
    };
    overview.addEventListener('mousedown', (e) => { overviewDrag = true; moveOverview(e); });
    window.addEventListener('mouseup', () => { overviewDrag = false; });
    overview.addEventListener('mousemove', (e) => { if (overviewDrag) moveOverview(e); });
    window.addEventListener('resize', () => { layoutDiagram(); layoutLog(); drawLog(); drawNow(); renderGroups(); });
  }

  // What is under the mouse: a mark, else the nearest drawn arrow.
  function itemAt(x, y) {
    let best = -1;
    let bestD = 6;
    for (const m of drawnMarks) {
      const d = Math.hypot(m.x - x, m.y - y);
      if (d <= Math.max(m.r, 5) && d < bestD + 2) { best = m.seq; bestD = d; }
    }
    if (best >= 0) return best;
    bestD = 5;
    for (let j = 0; j < drawnCount; j++) {
      const i = drawnMsgs[j];
      const x1 = xOf(mSent[i]);
      const y1 = laneY[mFrom[i]];
      const x2 = xOf(mTime[i]);
      const y2 = laneY[mTo[i]];
      if (x < Math.min(x1, x2) - 6 || x > Math.max(x1, x2) + 6) continue;
      const dx = x2 - x1;
      const dy = y2 - y1;
      const len2 = dx * dx + dy * dy || 1;
      const u = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / len2));
      const d = Math.hypot(x1 + u * dx - x, y1 + u * dy - y);
      if (d < bestD) { bestD = d; best = mSeq[i]; }
    }
    if (best >= 0) return best;
    // A fault band.
    const t = tOf(x);
    for (const b of bands) {
      if (t < b.start || t > Math.max(b.end, b.start + (view.end - view.start) / 200)) continue;
      for (const l of b.lanes) {
        if (laneY[l] >= 0 && Math.abs(laneY[l] - y) < laneH / 2) return b.seq;
      }
    }
    return -1;
  }

  function hover(e) {
    const rect = canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const tip = $('tooltip');
    const seq = x > LEFT ? itemAt(x, y) : -1;
    if (seq < 0) { tip.hidden = true; return; }
    const ev = eventOf(seq);
    if (!ev) { tip.hidden = true; return; }
    tip.textContent = describe(ev);
    tip.hidden = false;
    const left = Math.min(x + 14, W - 300);
    tip.style.left = left + 'px';
    tip.style.top = (y + 14) + 'px';
  }

  function describe(ev) {
    const at = fmtMs(ev.time_ms);
    if (ev.type === 'message') {
      return at + '  ' + ev.from + ' → ' + ev.to + ' (sent ' + fmtMs(ev.sent_ms) + ')\n' + ev.text;
    }
    if (ev.type === 'node') return at + '  ' + ev.node + ' ' + ev.kind + '\n' + ev.text;
    if (ev.type === 'fault') return at + '  fault ' + ev.action.fault + (ev.phase === 'end' ? ' ends' : '') + '\n' + ev.text;
    return at + '  ' + ev.node + '\n' + ev.text;
  }

  function pick(e) {
    if (e.target !== canvas) return;
    const rect = canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const seq = x > LEFT ? itemAt(x, y) : -1;
    select(seq);
  }

  function select(seq) {
    view.selected = seq;
    const details = $('details');
    details.replaceChildren();
    if (seq < 0) {
      details.append(el('p', { class: 'hint' }, 'Drag to pan, scroll to zoom, click an arrow or a mark for its details.'));
    } else {
      const ev = eventOf(seq);
      if (ev) {
        details.append(el('div', {}, el('strong', {}, describe(ev).split('\n')[0])),
          el('pre', {}, JSON.stringify(ev, null, 2)));
      }
    }
    requestDraw();
  }

  // ---- anomalies -----------------------------------------------------------------------
  function focusAnomaly(i, scroll) {
    const a = summary.anomalies[i];
    if (!a) return;
    view.highlight = new Set(a.events);
    view.anomaly = i;
    const span = Math.max(a.focus_end_ms - a.focus_start_ms, 20);
    const pad = Math.max(span * 0.15, 10);
    setWindow(Math.max(0, a.focus_start_ms - pad), a.focus_end_ms + pad);
    for (const link of document.querySelectorAll('a.anomaly-link')) {
      link.classList.toggle('active', link.dataset.index === String(i));
    }
    const details = $('details');
    details.replaceChildren(el('div', {}, el('strong', {}, a.text)),
      el('p', { class: 'hint' }, 'The events that show it (click one to centre the window on it):'));
    const list = el('ul', {});
    for (const seq of a.events) {
      const ev = eventOf(seq);
      if (!ev) continue;
      list.append(el('li', {}, el('a', {
        onclick: () => { centerOn(ev.time_ms); select(seq); },
      }, describe(ev).replace('\n', ': '))));
    }
    details.append(list);
    if (a.partitions.length && partitionReports.has(a.partitions[0])) {
      $('partition-select').value = a.partitions[0];
      showPartition(a.partitions[0]);
    }
    drawNow();
    if (scroll) $('diagram-section').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function drawNow() {
    draw();
  }

  // ---- partition logs ------------------------------------------------------------------
  const partitionReports = new Map(summary.partitions.map((p) => [p.partition, p]));
  // A partition's logs and a group's commits are details the page loads when
  // it shows them: `partitions/NNNN` and `groups/NNNN`, numbered as in the summary.
  const detailKey = (folder, n) => folder + '/' + String(n).padStart(4, '0');
  const partitionNumber = new Map(summary.partitions.map((p, n) => [p.partition, n]));

  // Fills in partition p's logs and the values a producer saw acknowledged
  // (p.acked), then calls then().
  function withPartitionDetail(p, then) {
    if (p.acked) { then(); return; }
    load(detailKey('partitions', partitionNumber.get(p.partition))).then((d) => {
      if (!p.acked) {
        p.logs.forEach((log, c) => {
          const detail = d.logs[c] || { records: [], removed: [], high_watermarks: [] };
          log.records = detail.records;
          log.removed = detail.removed;
          log.high_watermarks = detail.high_watermarks;
        });
        p.acked = new Set(d.acked);
      }
      then();
    }, (e) => console.error('partition ' + p.partition + ': ' + e.message));
  }
  const logCanvas = $('log-view');
  const lctx = logCanvas.getContext('2d');
  const logWrap = $('log-wrap');
  const LOG_HEADER = 26;
  const ROW = 20;
  let current = null; // { p, rows: [{offset, top, height, divergent}], total }

  function renderPartitionSelect() {
    const select = $('partition-select');
    const names = summary.partitions.map((p) => p.partition);
    for (const n of names) select.append(el('option', { value: n }, n));
    select.addEventListener('change', () => showPartition(select.value));
    let first = params.get('partition');
    if (!partitionReports.has(first)) {
      const named = summary.anomalies.flatMap((a) => a.partitions).find((p) => partitionReports.has(p));
      first = named || names.find((n) => !n.startsWith('__')) || names[0];
    }
    if (first) {
      select.value = first;
      showPartition(first);
    } else {
      $('partition-facts').textContent = 'No partition in this run.';
    }
    logWrap.addEventListener('scroll', drawLog);
  }

  function showPartition(name) {
    const p = partitionReports.get(name);
    if (!p) return;
    if (!p.acked) {
      $('partition-facts').textContent = 'loading the logs of ' + name + '…';
      withPartitionDetail(p, () => { if ($('partition-select').value === name) showPartition(name); });
      return;
    }
    const logs = p.logs;
    let lo = Infinity;
    let hi = 0;
    const byOffset = new Map();
    logs.forEach((log, c) => {
      lo = Math.min(lo, log.log_start_offset);
      hi = Math.max(hi, log.log_end_offset, log.high_watermark);
      for (const r of log.records) {
        if (!byOffset.has(r.offset)) byOffset.set(r.offset, { kept: [], removed: [] });
        byOffset.get(r.offset).kept[c] = r;
      }
      for (const r of log.removed) {
        hi = Math.max(hi, r.offset + 1);
        if (!byOffset.has(r.offset)) byOffset.set(r.offset, { kept: [], removed: [] });
        const cell = byOffset.get(r.offset);
        (cell.removed[c] = cell.removed[c] || []).push(r);
      }
    });
    if (!Number.isFinite(lo)) lo = 0;
    const rows = [];
    let top = LOG_HEADER;
    for (let o = lo; o < hi; o++) {
      const cell = byOffset.get(o) || { kept: [], removed: [] };
      const values = new Set();
      for (const r of cell.kept) if (r) values.add(r.epoch + '/' + r.value);
      let extra = 0;
      for (let c = 0; c < logs.length; c++) extra = Math.max(extra, cell.removed[c] ? cell.removed[c].length : 0);
      const height = ROW * (1 + extra);
      rows.push({ offset: o, top, height, cell, divergent: values.size > 1 });
      top += height;
    }
    // A spare row below the last offset, where the high watermark's label fits.
    current = { p, rows, total: top + ROW + 4 };
    const isr = p.isr.join(',');
    const facts = ['leader ' + (p.leader === null ? 'none' : 'broker-' + p.leader), 'leader epoch ' + p.leader_epoch,
      'ISR [' + isr + ']', 'high watermark ' + p.high_watermark, 'log end ' + p.log_end_offset];
    const factsEl = $('partition-facts');
    factsEl.replaceChildren(facts.join(', '));
    for (const d of p.divergence) factsEl.append(el('div', { style: 'color:#cf222e' }, d));
    layoutLog();
    logWrap.scrollTop = 0;
    drawLog();
    drawHwChart();
    const legend = $('log-legend');
    const epochs = new Set();
    for (const log of logs) for (const r of log.records) epochs.add(r.epoch);
    legend.replaceChildren(...Array.from(epochs).sort((a, b) => a - b).map((e) =>
      el('span', {}, el('span', { class: 'swatch', style: 'background:' + epochColor(e) + ';border:1px solid #bbb' }), 'leader epoch ' + e)),
    el('span', {}, el('span', { style: 'text-decoration:line-through;color:#cf222e' }, 'value'), ' removed from that replica (truncated or lost)'),
    el('span', {}, el('span', { class: 'swatch', style: 'background:#fff;border:2px solid #cf222e' }), 'replicas disagree at this offset'),
    el('span', {}, el('span', { style: 'color:#0969da;font-weight:600' }, '━ HW'), ' high watermark at the end'));
  }

  function layoutLog() {
    if (!current) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(300, logWrap.clientWidth - 2);
    logWrap.style.height = Math.min(360, current.total + 2) + 'px';
    const h = Math.min(logWrap.clientHeight || 360, current.total);
    logCanvas.width = Math.round(w * dpr);
    logCanvas.height = Math.round(h * dpr);
    logCanvas.style.width = w + 'px';
    logCanvas.style.height = h + 'px';
    lctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    $('log-spacer').style.height = Math.max(0, current.total - h) + 'px';
  }

  function drawLog() {
    if (!current) return;
    const { p, rows } = current;
    const w = parseFloat(logCanvas.style.width);
    const h = parseFloat(logCanvas.style.height);
    const scroll = logWrap.scrollTop;
    const left = 70;
    const cols = p.logs.length;
    const colW = (w - left) / Math.max(1, cols);
    lctx.clearRect(0, 0, w, h);
    lctx.font = '12px ui-monospace, Menlo, Consolas, monospace';
    lctx.textBaseline = 'middle';
    let cells = 0;
    // Rows in view: binary search on their tops.
    const tops = rows.map((r) => r.top);
    let k = Math.max(0, lowerBound(tops, scroll + LOG_HEADER) - 1);
    for (; k < rows.length; k++) {
      const row = rows[k];
      const y = row.top - scroll;
      if (y > h) break;
      if (y + row.height < LOG_HEADER) continue;
      lctx.fillStyle = '#57606a';
      lctx.textAlign = 'right';
      lctx.fillText(String(row.offset), left - 10, y + ROW / 2);
      lctx.textAlign = 'left';
      for (let c = 0; c < cols; c++) {
        const x = left + c * colW;
        const log = p.logs[c];
        const kept = row.cell.kept[c];
        if (kept) {
          lctx.fillStyle = epochColor(kept.epoch);
          lctx.fillRect(x + 2, y + 1, colW - 4, ROW - 2);
          lctx.fillStyle = '#1d2230';
          lctx.fillText(clip(kept.value, colW - 90) + '  e' + kept.epoch + (p.acked.has(kept.value) ? '  ✓ acked' : ''), x + 8, y + ROW / 2);
          cells++;
        } else if (row.offset >= log.log_end_offset) {
          lctx.fillStyle = '#f6f8fa';
          lctx.fillRect(x + 2, y + 1, colW - 4, ROW - 2);
        }
        if (row.divergent && kept) {
          lctx.strokeStyle = '#cf222e';
          lctx.lineWidth = 2;
          lctx.strokeRect(x + 2, y + 1, colW - 4, ROW - 2);
        }
        const removed = row.cell.removed[c] || [];
        removed.forEach((r, n) => {
          const ry = y + ROW * (n + 1);
          lctx.fillStyle = '#fff1f0';
          lctx.fillRect(x + 2, ry + 1, colW - 4, ROW - 2);
          lctx.fillStyle = '#cf222e';
          const text = clip(r.value, colW - 230) + '  e' + r.epoch;
          lctx.fillText(text, x + 8, ry + ROW / 2);
          const tw = lctx.measureText(text).width;
          lctx.strokeStyle = '#cf222e';
          lctx.lineWidth = 1.5;
          lctx.beginPath();
          lctx.moveTo(x + 6, ry + ROW / 2);
          lctx.lineTo(x + 10 + tw, ry + ROW / 2);
          lctx.stroke();
          lctx.fillText((r.time_ms === null ? 'lost' : 'removed at ' + fmtMs(r.time_ms)) +
            (p.acked.has(r.value) ? ' (it was acknowledged)' : ''), x + 16 + tw, ry + ROW / 2);
          cells++;
        });
      }
    }
    // High watermark and log end of each replica.
    p.logs.forEach((log, c) => {
      const x = left + c * colW;
      const lineAt = (offset) => {
        const idx = offset - (rows.length ? rows[0].offset : 0);
        if (idx < 0) return LOG_HEADER - scroll;
        if (idx >= rows.length) return (rows.length ? rows[rows.length - 1].top + rows[rows.length - 1].height : LOG_HEADER) - scroll;
        return rows[idx].top - scroll;
      };
      const hy = lineAt(log.high_watermark);
      if (hy >= LOG_HEADER - 2 && hy <= h) {
        lctx.strokeStyle = '#0969da';
        lctx.lineWidth = 3;
        lctx.beginPath();
        lctx.moveTo(x + 2, hy);
        lctx.lineTo(x + colW - 2, hy);
        lctx.stroke();
        lctx.fillStyle = '#0969da';
        lctx.textAlign = 'right';
        lctx.fillText('HW ' + log.high_watermark, x + colW - 6, hy + 8);
        lctx.textAlign = 'left';
      }
    });
    // Header.
    lctx.fillStyle = '#ffffff';
    lctx.fillRect(0, 0, w, LOG_HEADER);
    lctx.font = '600 12px system-ui, sans-serif';
    lctx.fillStyle = '#57606a';
    lctx.fillText('offset', 8, LOG_HEADER / 2);
    p.logs.forEach((log, c) => {
      const x = left + c * colW;
      const lead = p.leader === log.broker ? ' ★ leader' : '';
      const isr = p.isr.indexOf(log.broker) >= 0 ? ', in ISR' : ', not in ISR';
      lctx.fillStyle = '#1f6feb';
      lctx.fillText('broker-' + log.broker + lead + (log.present ? isr : ' (no log)') +
        ', LEO ' + log.log_end_offset, x + 6, LOG_HEADER / 2);
    });
    lctx.strokeStyle = '#d0d7de';
    lctx.beginPath();
    lctx.moveTo(0, LOG_HEADER - 0.5);
    lctx.lineTo(w, LOG_HEADER - 0.5);
    lctx.stroke();
    stats.logCells = Math.max(stats.logCells, cells);
  }

  function clip(text, px) {
    const max = Math.max(4, Math.floor(px / 7.5));
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  // The high watermark of each replica over time (the diagram's window shaded).
  const hwCanvas = $('hw-chart');
  const hctx = hwCanvas.getContext('2d');
  function drawHwChart() {
    if (!current) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(300, hwCanvas.parentElement.clientWidth || 600);
    const h = 150;
    if (hwCanvas.width !== Math.round(w * dpr)) {
      hwCanvas.width = Math.round(w * dpr);
      hwCanvas.height = Math.round(h * dpr);
    }
    hctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    hctx.clearRect(0, 0, w, h);
    const left = 70;
    const right = 14;
    const top = 10;
    const bottom = 22;
    const p = current.p;
    let max = 1;
    for (const log of p.logs) for (const [, hw] of log.high_watermarks) max = Math.max(max, hw);
    const x = (t) => left + t / END * (w - left - right);
    const y = (o) => h - bottom - o / max * (h - top - bottom);
    hctx.fillStyle = 'rgba(31, 111, 235, 0.08)';
    hctx.fillRect(x(Math.max(0, view.start)), top, Math.max(2, x(Math.min(END, view.end)) - x(Math.max(0, view.start))), h - top - bottom);
    hctx.strokeStyle = '#d0d7de';
    hctx.beginPath();
    hctx.moveTo(left, h - bottom);
    hctx.lineTo(w - right, h - bottom);
    hctx.moveTo(left, top);
    hctx.lineTo(left, h - bottom);
    hctx.stroke();
    hctx.font = '11px system-ui, sans-serif';
    hctx.fillStyle = '#57606a';
    hctx.textBaseline = 'middle';
    hctx.textAlign = 'right';
    hctx.fillText(String(max), left - 6, y(max));
    hctx.fillText('0', left - 6, y(0));
    hctx.textAlign = 'center';
    const step = niceStep(END, 8);
    for (let t = 0; t <= END; t += step) hctx.fillText(fmtMs(t), x(t), h - 8);
    hctx.textAlign = 'left';
    p.logs.forEach((log, c) => {
      const color = PALETTE[c % PALETTE.length];
      hctx.strokeStyle = color;
      hctx.lineWidth = 2;
      hctx.beginPath();
      let last = 0;
      hctx.moveTo(x(0), y(0) - c);
      for (const [t, hw] of log.high_watermarks) {
        hctx.lineTo(x(t), y(last) - c);
        hctx.lineTo(x(t), y(hw) - c);
        last = hw;
      }
      hctx.lineTo(x(END), y(last) - c);
      hctx.stroke();
      hctx.fillStyle = color;
      hctx.fillText('broker-' + log.broker, left + 8 + c * 80, top + 4);
    });
  }

  // ---- consumer groups -------------------------------------------------------------------
  function renderGroups() {
    const box = $('groups');
    box.replaceChildren();
    if (!summary.groups.length) {
      box.append(el('p', { class: 'hint' }, 'No consumer group in this run.'));
      return;
    }
    summary.groups.forEach((g, n) => {
      if (g.commitsLoaded === undefined) {
        g.commitsLoaded = false;
        load(detailKey('groups', n)).then((d) => {
          g.commits = d.commits;
          g.commitsLoaded = true;
          renderGroups();
        }, (e) => console.error('group ' + g.group + ': ' + e.message));
      }
    });
    for (const g of summary.groups) {
      const parts = new Set();
      for (const gen of g.generations) for (const list of Object.values(gen.members)) for (const p of list) parts.add(p);
      for (const c of g.commits) parts.add(c.partition);
      const rows = Array.from(parts).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      const members = new Set();
      for (const gen of g.generations) for (const m of Object.keys(gen.members)) members.add(m);
      const block = el('div', { class: 'group-block' });
      block.append(el('h3', {}, 'group ' + g.group),
        el('div', { class: 'facts' }, g.generations.length + ' generation(s), ' + g.commits.length +
          ' commit(s); a bar is a partition owned by a member during a generation, a tick a commit. Click to move the diagram there.'));
      const c = el('canvas', {});
      block.append(c);
      const legend = el('div', { class: 'legend' });
      for (const m of members) {
        const lane = m.replace(/-\d+$/, '');
        const machine = laneOf.has(lane) ? lanes[laneOf.get(lane)].machine : null;
        legend.append(el('span', {}, el('span', { class: 'swatch', style: 'background:' + memberColor(m) }), m + (machine ? ' (' + machine + ')' : '')));
      }
      block.append(legend);
      box.append(block);
      drawGroup(c, g, rows);
      c.addEventListener('click', (e) => {
        const rect = c.getBoundingClientRect();
        const t = (e.clientX - rect.left - 110) / (rect.width - 110 - 14) * END;
        centerOn(Math.max(0, Math.min(END, t)));
        requestDraw();
        $('diagram-section').scrollIntoView({ behavior: 'smooth', block: 'start' });
      });
      stats.groups++;
    }
  }

  function drawGroup(c, g, rows) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(300, $('groups').clientWidth || 800);
    const rowH = 22;
    const top = 22;
    const h = top + rows.length * rowH + 24;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.height = h + 'px';
    const g2 = c.getContext('2d');
    g2.setTransform(dpr, 0, 0, dpr, 0, 0);
    const left = 110;
    const right = 14;
    const x = (t) => left + t / END * (w - left - right);
    g2.font = '12px system-ui, sans-serif';
    g2.textBaseline = 'middle';
    rows.forEach((p, r) => {
      const y = top + r * rowH;
      g2.fillStyle = r % 2 ? '#fafbfc' : '#ffffff';
      g2.fillRect(0, y, w, rowH);
      g2.fillStyle = '#57606a';
      g2.fillText(p, 8, y + rowH / 2);
    });
    // Between one generation's end and the next one's start the group rebalances:
    // nobody owns anything.
    g.generations.forEach((gen, i) => {
      const next = g.generations[i + 1];
      if (gen.end_ms === null || !next || next.start_ms <= gen.end_ms) return;
      const x1 = x(gen.end_ms);
      const x2 = x(next.start_ms);
      g2.fillStyle = 'rgba(224, 160, 0, 0.18)';
      g2.fillRect(x1, top, Math.max(2, x2 - x1), rows.length * rowH);
      if (x2 - x1 > 70) {
        g2.fillStyle = '#b08800';
        g2.fillText('rebalancing', x1 + 4, top + rows.length * rowH - 8);
      }
    });
    for (const gen of g.generations) {
      const x1 = x(gen.start_ms);
      const x2 = x(gen.end_ms === null ? END : gen.end_ms);
      for (const [member, list] of Object.entries(gen.members)) {
        for (const p of list) {
          const r = rows.indexOf(p);
          if (r < 0) continue;
          const y = top + r * rowH;
          g2.fillStyle = memberColor(member);
          g2.globalAlpha = 0.75;
          g2.fillRect(x1, y + 3, Math.max(2, x2 - x1), rowH - 6);
          g2.globalAlpha = 1;
          if (x2 - x1 > 80) {
            g2.fillStyle = '#ffffff';
            g2.fillText(member, x1 + 4, y + rowH / 2);
          }
        }
      }
      g2.strokeStyle = '#57606a';
      g2.setLineDash([3, 3]);
      g2.beginPath();
      g2.moveTo(x1, top - 4);
      g2.lineTo(x1, top + rows.length * rowH);
      g2.stroke();
      g2.setLineDash([]);
      g2.fillStyle = '#1d2230';
      g2.fillText('gen ' + gen.generation_id, Math.min(x1 + 3, w - right - 40), top - 11);
    }
    g2.strokeStyle = '#1d2230';
    g2.lineWidth = 1.5;
    for (const commit of g.commits) {
      const r = rows.indexOf(commit.partition);
      if (r < 0) continue;
      const y = top + r * rowH;
      const cx = x(commit.time_ms);
      g2.beginPath();
      g2.moveTo(cx, y + 2);
      g2.lineTo(cx, y + rowH - 2);
      g2.stroke();
    }
    g2.fillStyle = '#57606a';
    g2.textAlign = 'center';
    const step = niceStep(END, 8);
    for (let t = 0; t <= END; t += step) g2.fillText(fmtMs(t), x(t), h - 10);
    g2.textAlign = 'left';
  }

  // ---- timeline ----------------------------------------------------------------------------
  function renderTimeline() {
    const box = $('timeline');
    const frag = document.createDocumentFragment();
    for (const e of summary.timeline) {
      const line = String(e.time_ms).padStart(8) + ' ms  ' + e.node.padEnd(10) + '  ' + e.text;
      frag.append(el('div', { onclick: () => { centerOn(e.time_ms); requestDraw(); $('diagram-section').scrollIntoView({ block: 'start' }); } }, line));
    }
    box.append(frag);
  }

  // ---- self-test -----------------------------------------------------------------------------
  // Waits until no file is loading and the diagram is drawn with what came;
  // false if loading never settles.
  async function settle() {
    for (let round = 0; round < 50; round++) {
      await whenIdle();
      // Let the loads' own handlers run first (they are queued after the wake-up).
      await new Promise((next) => setTimeout(next, 0));
      draw();
      if (pendingLoads === 0) return true;
    }
    return false;
  }

  // The chunks of the window that are not loaded (none when it is too wide to load).
  function unloadedChunks() {
    const [from, to] = chunksOf(view.start, view.end);
    const out = [];
    if (to - from > WINDOW_CHUNKS_MAX) return out;
    for (let n = from; n < to; n++) if (!loaded.has(n)) out.push(n);
    return out;
  }

  // Moves the window as a person would (an anomaly's link, or else the run's
  // last seconds), preferring a place whose chunks the page did not open
  // with; checks the chunks came and the window shows them.
  async function checkJump(problems) {
    const initial = new Set(loaded.keys());
    const notInitial = (start, end) => {
      const [from, to] = chunksOf(start, end);
      for (let n = from; n < to; n++) if (!initial.has(n)) return true;
      return false;
    };
    const before = [view.start, view.end];
    const links = document.querySelectorAll('a.anomaly-link');
    let what;
    if (links.length) {
      let pick = summary.anomalies.findIndex((a) => notInitial(a.focus_start_ms, a.focus_end_ms));
      if (pick < 0) pick = 0;
      links[pick].click();
      what = 'anomaly ' + pick;
    } else {
      const span = view.end - view.start;
      setWindow(END - span, END);
      draw();
      what = 'no anomaly; the last ' + fmtMs(span);
    }
    const after = [view.start, view.end];
    if (!(await settle())) problems.push('jump: loading did not settle');
    if (before[0] === after[0] && before[1] === after[1]) problems.push('jump: the window did not move');
    const unloaded = unloadedChunks();
    if (unloaded.length) problems.push('jump: chunk(s) ' + unloaded.join(',') + ' not loaded');
    const fresh = Array.from(loaded.keys()).filter((n) => !initial.has(n));
    if (links.length) {
      if (view.highlight.size === 0) problems.push('anomaly link: nothing highlighted');
      if (stats.highlighted === 0) problems.push('anomaly link: no highlighted event drawn');
    } else if (messagesBetween(view.start, view.end) > 0 && stats.arrows === 0) {
      problems.push('jump: no arrow drawn at the run\'s end');
    }
    return what + ': window ' + before.map(Math.round).join('..') + ' ms moved to ' +
      after.map(Math.round).join('..') + ' ms, ' + stats.highlighted + ' highlighted, ' +
      (fresh.length ? 'loaded chunk(s) ' + fresh.join(',') : 'no chunk loaded');
  }

  async function selftest() {
    const out = $('selftest');
    const problems = [];
    if (!(await settle())) problems.push('loading: files still loading');
    marks.settled = performance.now();
    if (stats.lanes === 0) problems.push('diagram: no lanes');
    if (stats.frames === 0) problems.push('diagram: never drawn');
    if (firstArrows === 0 && messagesBetween(0, firstWindowEnd) > 0) problems.push('diagram: no arrow in the first window');
    if (!$('verdict').textContent.trim()) problems.push('verdict: empty');
    if (summary.partitions.length && stats.logCells === 0) problems.push('partitions: no record drawn');
    if (summary.groups.length && stats.groups === 0) problems.push('groups: not drawn');
    if (summary.groups.some((g) => !g.commitsLoaded)) problems.push('groups: commits not loaded');
    const links = document.querySelectorAll('a.anomaly-link');
    if (links.length !== summary.anomalies.length) {
      problems.push('anomalies: ' + links.length + ' link(s) for ' + summary.anomalies.length);
    }
    const jump = chunks.length > 1 || links.length ? await checkJump(problems) : 'one chunk, no anomaly';
    const bound = Number(params.get('bound'));
    if (bound > 0 && firstWindowMs > bound) {
      problems.push('first window took ' + Math.round(firstWindowMs) + ' ms, over the bound of ' + bound + ' ms');
    }
    problems.push(...errors);
    out.hidden = false;
    out.textContent = (problems.length ? 'FAIL ' + problems.join('; ') : 'PASS') +
      ' | first-window-ms=' + Math.round(firstWindowMs) +
      ' (page parsed ' + Math.round(marks.script) + ', data parsed ' + Math.round(marks.parsed) +
      ', model built ' + Math.round(marks.model) + ', settled ' + Math.round(marks.settled) + ')' +
      ' | trace-lines=' + TRACE_LINES + ' | chunks=' + chunks.length +
      ' | first-window-arrows=' + firstArrows + ' | jump: ' + jump;
  }

  // ---- start ---------------------------------------------------------------------------------
  function applyHash() {
    const show = params.get('show');
    if (show) {
      const wanted = new Set(show.split(','));
      for (const s of document.querySelectorAll('section[data-section]')) {
        s.classList.toggle('hidden-section', !wanted.has(s.dataset.section));
      }
    }
    const w = params.get('window');
    if (w) {
      const [a, b] = w.split(',').map(Number);
      if (Number.isFinite(a) && Number.isFinite(b) && b > a) setWindow(a, b);
    }
  }

  try {
    renderHeader();
    renderFilters();
    applyHash();
    layoutDiagram();
    wireDiagram();
    drawNow();
    firstWindowMs = performance.now();
    firstArrows = stats.arrows;
    firstWindowEnd = view.end;
    renderPartitionSelect();
    renderGroups();
    renderTimeline();
    const anomaly = params.get('anomaly');
    if (anomaly !== null && !selftestMode) focusAnomaly(Number(anomaly), false);
    drawNow();
  } catch (e) {
    errors.push('render: ' + (e && e.stack ? e.stack : e));
  }
  if (selftestMode) {
    selftest().catch((e) => {
      const out = $('selftest');
      out.hidden = false;
      out.textContent = 'FAIL the self-test threw: ' + (e && e.stack ? e.stack : e);
    });
  }
})();
