// doseedge operator view. Plain JS, no build step, nothing loaded from outside.
// The page shows only what the last snapshot said, and only while snapshots keep coming: a closed
// stream or no snapshot for `stale_after_s` turns it into MONITOR DOWN and blanks every number.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { staleMs: 4000, lastAt: 0, lastTs: null, down: true, csrf: null, me: null, exams: false, es: null };

  // ------------------------------------------------------------------ formatting
  const fixed = (v, d) => (typeof v === "number" && isFinite(v) ? v.toFixed(d) : "—");
  function quantityParts(q, v) {
    if (typeof v !== "number") return ["—", ""];
    if (q === "fluoro_time") {
      const m = Math.floor(v / 60), s = Math.floor(v % 60);
      return [`${m}:${String(s).padStart(2, "0")}`, "min"];
    }
    if (q === "kap") return [v.toFixed(v < 10 ? 2 : 1), "Gy·cm²"];
    return v >= 1000 ? [(v / 1000).toFixed(2), "Gy"] : [v.toFixed(v < 10 ? 2 : 0), "mGy"];
  }
  const quantity = (q, v) => quantityParts(q, v).join(" ");
  const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "");
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ------------------------------------------------------------------ live / down
  function setDown(reason) {
    state.down = true;
    document.body.classList.add("down");
    $("monitor-state").textContent = "MONITOR DOWN";
    $("monitor-state").className = "pill down";
    $("down-reason").textContent = `${reason} The numbers on this screen are not live.`;
    for (const v of document.querySelectorAll(".live-value")) v.textContent = "—";
    $("gauge-fill").style.width = "0";
    for (const b of document.querySelectorAll(".tile .bar div")) b.style.width = "0";
    $("alarm-banner").hidden = true;
    $("alarm-list").replaceChildren();
    const canvas = $("trend");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    if (state.lastTs) $("updated").textContent = `last data ${clock(state.lastTs)}`;
  }
  function setLive() {
    state.down = false;
    document.body.classList.remove("down");
    $("monitor-state").textContent = "LIVE";
    $("monitor-state").className = "pill live";
  }
  setInterval(() => {
    if (!state.down && performance.now() - state.lastAt > state.staleMs) {
      setDown(`No update from the dose monitor for ${Math.round(state.staleMs / 1000)} s.`);
    }
  }, 250);

  function connect() {
    const es = new EventSource("/api/stream");
    state.es = es;
    es.addEventListener("snapshot", (event) => {
      let snap;
      try { snap = JSON.parse(event.data); } catch (e) { return; }
      onSnapshot(snap);
    });
    es.onerror = () => {
      setDown("Lost the connection to the dose monitor.");
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    };
  }

  function onSnapshot(snap) {
    state.lastAt = performance.now();
    if (typeof snap.stale_after_s === "number") state.staleMs = snap.stale_after_s * 1000;
    if (!snap.ok) { setDown(`The monitor reports an error (${snap.error || "unknown"}).`); return; }
    setLive();
    state.lastTs = snap.ts;
    $("station").textContent = snap.station.name || `${snap.station.site} / ${snap.station.station_id}`;
    $("updated").textContent = `updated ${clock(snap.ts)}`;
    renderAlarms(snap.alarms || []);
    renderHealth(snap.health || {});
    $("fluoro").hidden = !snap.fluoro;
    if (snap.fluoro) renderFluoro(snap.fluoro);
    $("hotlab").hidden = !snap.hotlab;
    if (snap.hotlab) renderHotlab(snap.hotlab);
  }

  // ------------------------------------------------------------------ alarms
  function renderAlarms(alarms) {
    const banner = $("alarm-banner"), list = $("alarm-list");
    banner.hidden = alarms.length === 0;
    list.replaceChildren();
    if (!alarms.length) return;
    const open = alarms.filter((a) => a.state !== "acknowledged");
    banner.classList.toggle("acked", open.length === 0);
    const count = alarms.length > 1 ? ` — ${alarms.length} active` : "";
    $("alarm-headline").textContent = open.length ? `ALARM${count}` : `ALARM ACKNOWLEDGED${count}`;
    for (const a of alarms) {
      const li = el("li", a.state === "acknowledged" ? "acknowledged" : "");
      li.dataset.alarmId = a.alarm_id;
      li.dataset.type = a.type;
      li.append(el("span", "time", clock(a.raised_at)), el("span", "msg", a.message));
      if (a.state === "acknowledged") {
        li.append(el("span", "by", `by ${a.acknowledged_by || "?"}`));
      } else {
        const b = el("button", "ack", "Acknowledge");
        b.type = "button";
        b.addEventListener("click", () => act("alarm_ack", { alarm_id: a.alarm_id }));
        li.append(b);
      }
      list.append(li);
    }
  }

  // ------------------------------------------------------------------ fluoroscopy
  function renderFluoro(f) {
    const r = f.rate, value = $("rate-value"), fill = $("gauge-fill");
    const level = r.level_mgy_min;
    $("rate-mode").textContent = `— ${r.mode.replace("_", "-")} (${r.mode_source || "config"})`;
    $("beam").textContent = r.beam_on ? "BEAM ON" : "beam off";
    $("beam").className = r.beam_on ? "pill on" : "pill";
    let cls = "";
    if (!r.live) {
      value.textContent = "—";
      fill.style.width = "0";
      $("rate-level").textContent = `Dose rate not live: ${r.why_not_live}.`;
    } else {
      value.textContent = fixed(r.esak_mgy_min, 1);
      if (level) {
        const x = r.esak_mgy_min / level;
        cls = x > 1 ? "over" : x >= 0.8 ? "near" : "";
        fill.style.width = `${Math.min(x / 2, 1) * 100}%`;
        const line = $("rate-level");
        line.replaceChildren(`Level for ${r.mode.replace("_", "-")} fluoroscopy: ${level} mGy/min `,
          el("span", "cite", `(${r.level_citation.split(" (")[0]})`));
      } else {
        fill.style.width = "0";
        $("rate-level").textContent = `Mode ${r.mode}: no fluoroscopy level applies (not judged).`;
      }
    }
    value.className = `live-value ${cls}`;
    fill.className = cls;
    const p = f.procedure;
    $("procedure-state").textContent = p.open ? `open, ${p.acquisitions} acquisition(s)` : "— none open";
    for (const tile of document.querySelectorAll("#totals .tile")) {
      const q = tile.dataset.q, v = p.totals[q], mark = p.marks[q];
      const [number, unit] = quantityParts(q, v);
      tile.querySelector(".value").replaceChildren(number, el("span", "unit", unit));
      const bar = tile.querySelector(".bar div");
      if (mark) {
        const x = Math.min((v || 0) / mark.value, 1);
        bar.style.width = `${x * 100}%`;
        bar.className = x >= 0.8 ? "near" : "";
        tile.querySelector(".mark").textContent = `next mark ${quantity(q, mark.value)} (${mark.kind.replace("_", " ")})`;
      } else {
        bar.style.width = "0";
        tile.querySelector(".mark").textContent = "no further mark";
      }
    }
    drawTrend(f.trend || [], level);
  }

  function drawTrend(points, level) {
    const c = $("trend"), g = c.getContext("2d"), W = c.width, H = c.height, pad = 34;
    g.clearRect(0, 0, W, H);
    if (!points.length) return;
    const tEnd = points[points.length - 1][0], tStart = tEnd - Math.max(60, tEnd - points[0][0]);
    let top = (level || 10) * 1.5;
    for (const p of points) if (p[1] !== null && p[1] * 1.1 > top) top = p[1] * 1.1;
    const X = (t) => pad + ((t - tStart) / (tEnd - tStart || 1)) * (W - pad - 8);
    const Y = (v) => H - 18 - (v / top) * (H - 30);
    g.font = "14px DejaVu Sans, sans-serif";
    g.fillStyle = "#9aa7b5";
    g.fillText(`${Math.round(top)}`, 2, 16);
    g.fillText("0", 2, H - 18);
    g.fillText(`last ${Math.round((tEnd - tStart) / 60)} min`, W - 90, H - 2);
    if (level) {
      g.strokeStyle = "#e5383b"; g.setLineDash([8, 6]); g.lineWidth = 2;
      g.beginPath(); g.moveTo(pad, Y(level)); g.lineTo(W - 8, Y(level)); g.stroke();
      g.setLineDash([]); g.fillStyle = "#e5383b"; g.fillText(`${level} mGy/min`, pad + 4, Y(level) - 4);
    }
    g.strokeStyle = "#4cc9f0"; g.lineWidth = 3; g.beginPath();
    let pen = false;
    for (const [t, v] of points) {
      if (v === null) { pen = false; continue; }
      if (pen) g.lineTo(X(t), Y(v)); else g.moveTo(X(t), Y(v));
      pen = true;
    }
    g.stroke();
  }

  // ------------------------------------------------------------------ hot lab
  function renderHotlab(h) {
    const live = h.live;
    $("well").textContent = !live ? "no reading yet"
      : live.activity_mbq === null ? `${live.nuclide} —— ${live.state.toUpperCase()}`
      : `${live.nuclide} ${fixed(live.activity_mbq, 1)} MBq ${live.state}`;
    const qc = $("qc"), q = h.qc_today || {};
    qc.replaceChildren();
    const constancy = q.constancy || "missing";
    qc.append(el("div", constancy === "pass" ? "ok" : constancy === "missing" ? "warn" : "bad",
      `Constancy ${constancy.toUpperCase()}`));
    const others = Object.entries(q.tests || {}).filter(([t, r]) => t !== "constancy" && r);
    if (others.length) qc.append(el("div", "", others.map(([t, r]) => `${t} ${r}`).join(", ")));
    if (q.status) qc.append(el("div", q.status === "valid" ? "" : "bad", `Calibration ${q.status}, due ${q.due || "?"}`));
    const recent = $("recent");
    recent.replaceChildren();
    for (const r of h.recent || []) {
      const li = el("li");
      if (r.kind === "activity") {
        li.append(el("div", "", `${clock(r.at)} ${r.nuclide} ${fixed(r.activity_mbq, 1)} MBq → ${fixed(r.at_administration_mbq, 1)} MBq at administration`));
        for (const c of r.checks) {
          li.append(el("div", c.exceeded ? "bad" : "ok",
            `${c.check}: ${fixed(c.value, 1)} vs ${c.level} ${c.unit} → ${c.exceeded ? "EXCEEDED" : "ok"}`));
        }
        if (!r.checks.length) li.append(el("div", "warn", "no check: no preparation context"));
      } else {
        li.append(el("div", r.result === "pass" ? "ok" : "bad", `QC ${r.test} ${String(r.result).toUpperCase()}: ${r.message}`));
      }
      recent.append(li);
    }
    const ctx = h.context || {};
    const shown = Object.entries(ctx).map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(" · ");
    $("context-now").textContent = shown || "none entered";
    if (!state.exams) loadExams();
  }

  async function loadExams() {
    state.exams = true;
    const rows = await (await fetch("/api/hotlab/table5")).json();
    const select = $("ctx-exam");
    select.replaceChildren(el("option", "", "— choose —"));
    select.firstChild.value = "";
    for (const r of rows) {
      const o = el("option", "", `${r.exam.replace(/_/g, " ")} — ${r.nuclide} ${r.chemical_form.replace(/_/g, " ")}`);
      o.value = String(r.row);
      select.append(o);
    }
  }

  $("context-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const args = { table5_row: Number($("ctx-exam").value) };
    const w = $("ctx-weight").value, a = $("ctx-activity").value, t = $("ctx-time").value;
    if (w) args.weight_kg = Number(w);
    if (a) args.prescribed_activity_mbq = Number(a);
    if (t) args.planned_administration = new Date(t).toISOString();
    act("hotlab_context", args);
  });

  // ------------------------------------------------------------------ health
  function renderHealth(h) {
    const list = $("health-list");
    list.replaceChildren();
    for (const [name, d] of Object.entries(h.devices || {})) {
      const li = el("li", "device");
      li.dataset.device = name;
      const ok = d.availability === "ok";
      li.append(el("span", "", `${name} (${d.driver}): `), el("span", ok ? "ok" : "bad", ok ? "ok" : "LOST"));
      if (!ok && d.last_error) li.append(el("div", "", d.last_error));
      list.append(li);
    }
    const link = h.link || {}, store = h.store || {};
    const b = el("li");
    b.append(el("span", "", "Broker: "), el("span", link.connected ? "ok" : "bad", link.connected ? "up" : "DOWN"));
    list.append(b);
    const s = el("li");
    s.append(el("span", "", `Store: ${store.unsent ?? "?"} unsent`));
    if (store.in_memory) s.append(el("span", "bad", " — IN MEMORY ONLY"));
    if (store.pressure) s.append(el("span", "warn", " — nearly full"));
    list.append(s);
  }

  // ------------------------------------------------------------------ login and actions
  function showMessage(text, refused) {
    const m = $("action-message");
    m.textContent = text;
    m.className = refused ? "refused" : "";
    m.hidden = false;
  }
  function setMe(me, csrf) {
    state.me = me; state.csrf = csrf;
    $("login-state").textContent = me ? `${me.id} (${me.role})` : "view only";
    $("login-open").hidden = !!me;
    $("logout").hidden = !me;
  }
  async function post(url, body) {
    const headers = { "Content-Type": "application/json" };
    if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
    const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (e) { /* empty */ }
    return { status: response.status, data };
  }
  async function act(name, args) {
    let r;
    try { r = await post(`/api/action/${name}`, args); } catch (e) { showMessage("Refused: the monitor does not answer", true); return; }
    if (r.status === 401) {
      setMe(null, null);
      showMessage(`Refused: ${r.data.error || "log in first"}`, true);
      $("login-dialog").showModal();
    } else if (!r.data.ok) {
      showMessage(`Refused: ${r.data.error || r.status}`, true);
    } else {
      const who = r.data.sender ? r.data.sender.id : "";
      showMessage(name === "alarm_ack" ? `Acknowledged by ${who}` : `Done (${name.replace("_", " ")}) by ${who}`, false);
    }
  }
  $("login-open").addEventListener("click", () => { $("login-error").textContent = ""; $("login-dialog").showModal(); });
  $("login-cancel").addEventListener("click", () => $("login-dialog").close());
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const r = await post("/api/login", { id: $("login-id").value, secret: $("login-secret").value });
    $("login-secret").value = "";
    if (r.status !== 200) { $("login-error").textContent = r.data.error || `refused (${r.status})`; return; }
    setMe({ id: r.data.id, role: r.data.role }, r.data.csrf);
    $("login-dialog").close();
    showMessage(`Logged in as ${r.data.id} (${r.data.role})`, false);
  });
  $("logout").addEventListener("click", async () => { await post("/api/logout", {}); setMe(null, null); });

  fetch("/api/session").then((r) => r.json()).then((s) => {
    if (s.logged_in) setMe({ id: s.id, role: s.role }, s.csrf);
    if (s.keyring === false) $("login-open").title = "no operator keyring on this box: view only";
  }).catch(() => {});
  setDown("Connecting to the dose monitor…");
  connect();
})();
