// The staff dashboard: a client of the staff socket (docs/protocol.md, "The staff socket") with
// the browser's session cookie. A snapshot of live sessions, then each session's feed frames in
// that session's seq order; a gap means ask for the missed frames (`feed.resume`). Watching a
// session shows its transcript, then the candidate's draft as it is typed.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const text = (el, v) => { el.textContent = v == null ? "" : String(v); };
  const el = (tag, cls, content) => { const e = document.createElement(tag); if (cls) e.className = cls; if (content != null) text(e, content); return e; };

  const rows = new Map(); // session id -> row as in feed.snapshot
  const seqs = new Map(); // session id -> last feed seq applied
  let socket = null, retry = 0, watching = null, refs = 0;
  let items = new Map(); // question id -> {question, answer, feedback}

  function send(frame) { if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; } return false; }
  function when(iso) { return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "—"; }
  function scoreText(f) { return f.insufficient_evidence || f.score == null ? "insufficient evidence" : `${f.score}/10`; }

  // --- the list --------------------------------------------------------------------------------

  function renderRow(id) {
    const r = rows.get(id);
    if (!r) return;
    let tr = document.querySelector(`tr[data-id="${id}"]`);
    if (!tr) {
      tr = el("tr", "session");
      tr.dataset.id = id;
      for (let i = 0; i < 6; i++) tr.append(el("td"));
      tr.addEventListener("click", () => watch(id));
      $("sessions").tBodies[0].prepend(tr);
    }
    const p = r.progress, cells = tr.children;
    cells[0].textContent = "";
    cells[0].append(el("span", "dot" + (p.connected ? " on" : "")), document.createTextNode(r.candidate_name));
    text(cells[1], r.job_title);
    text(cells[2], p.status.replace("_", " ") + (r.ended_early ? " (ended early)" : ""));
    text(cells[3], `${p.answered}/${p.question_count}`);
    text(cells[4], r.scores.map((s) => (s.insufficient_evidence || s.score == null ? "–" : s.score)).join(" · ") + (r.overall_score != null ? `  → ${r.overall_score}` : ""));
    text(cells[5], when(p.last_activity_at));
    tr.classList.toggle("selected", id === watching);
    $("empty").hidden = rows.size > 0;
  }

  function snapshot(f) {
    rows.clear(); seqs.clear();
    $("sessions").tBodies[0].textContent = "";
    for (const r of [...f.sessions].reverse()) { rows.set(r.id, r); seqs.set(r.id, r.feed_seq); renderRow(r.id); }
    $("empty").hidden = rows.size > 0;
    if (watching) send({ type: "watch", session_id: watching }); // fresh transcript after a reconnect
  }

  function applyToRow(f) {
    const r = rows.get(f.session_id);
    if (f.type === "session.opened") rows.set(f.session_id, { ...f.session, progress: f.progress });
    if (!r && f.type !== "session.opened") return;
    const row = rows.get(f.session_id);
    row.progress = f.progress;
    row.feed_seq = f.seq;
    if (f.type === "answer.feedback") {
      row.scores = row.scores.filter((s) => s.order !== f.feedback.order).concat([{ order: f.feedback.order, score: f.feedback.score, insufficient_evidence: f.feedback.insufficient_evidence }]).sort((a, b) => a.order - b.order);
    }
    if (f.type === "interview.completed") { row.overall_score = f.result.overall_score; row.recommendation = f.result.recommendation; row.ended_early = f.result.ended_early; }
    if (f.type === "consent.accepted") row.consented = true;
    renderRow(f.session_id);
  }

  function feedFrame(f) {
    const last = seqs.get(f.session_id) || 0;
    if (f.seq <= last) return;
    if (f.seq > last + 1) { send({ type: "feed.resume", session_id: f.session_id, last_seq: last }); return; }
    seqs.set(f.session_id, f.seq);
    applyToRow(f);
    if (f.session_id === watching) applyToWatch(f);
  }

  // --- the session being watched -----------------------------------------------------------------

  function watch(id) {
    if (watching && watching !== id) send({ type: "unwatch", session_id: watching });
    watching = id;
    for (const tr of document.querySelectorAll("tr.session")) tr.classList.toggle("selected", tr.dataset.id === id);
    $("placeholder").hidden = true; $("watch").hidden = false;
    $("transcript").textContent = ""; $("signals").textContent = ""; text($("draft"), ""); text($("draft-at"), "");
    text($("review-note"), ""); text($("action-note"), "");
    send({ type: "watch", session_id: id });
  }

  function header(row, result) {
    text($("w-title"), `${row.candidate_name} — ${row.job_title}`);
    text($("w-status"), row.progress.status.replace("_", " ") + (row.progress.connected ? " · connected" : ""));
    text($("w-meta"), `${row.progress.answered}/${row.progress.question_count} answered · ${row.consented ? "notice accepted" : "notice not accepted yet"} · last activity ${when(row.progress.last_activity_at)}`);
    text($("w-result"), result ? `Result: ${result.overall_score ?? "–"} (${result.recommendation.replace("_", " ")})${result.ended_early ? " · ended early by an interviewer" : ""}` : "");
  }

  function itemEl(q) {
    let div = document.querySelector(`#transcript .item[data-q="${q.id}"]`);
    if (!div) {
      div = el("div", "item");
      div.dataset.q = q.id;
      div.append(el("div", "q"), el("div", "kv meta"), el("div", "a"), el("div", "fbk"));
      div.querySelector(".a").hidden = true;
      $("transcript").append(div);
    }
    return div;
  }

  function renderItem(it) {
    const div = itemEl(it.question), q = it.question;
    text(div.querySelector(".q"), `Q${q.order + 1}. ${q.text}`);
    const meta = [q.competency, q.added_by ? `added by ${q.added_by}` : null, `${q.time_limit_seconds}s`].filter(Boolean);
    text(div.querySelector(".meta"), meta.join(" · "));
    const a = div.querySelector(".a");
    if (it.answer) {
      a.hidden = false;
      text(a, it.answer.text || "(empty answer)");
      const s = it.answer.integrity;
      const flags = [];
      if (it.answer.late) flags.push("late");
      if (s.paste_count) flags.push(`pasted ${s.paste_chars} chars`);
      if (s.focus_lost_count) flags.push(`left the page ${s.focus_lost_count}× (${Math.round(s.focus_away_ms / 1000)}s)`);
      if (s.first_keystroke_ms != null) flags.push(`first keystroke ${Math.round(s.first_keystroke_ms / 1000)}s`);
      if (s.time_to_submit_ms != null) flags.push(`submitted after ${Math.round(s.time_to_submit_ms / 1000)}s`);
      text(div.querySelector(".meta"), meta.concat(flags).join(" · "));
    }
    const fb = div.querySelector(".fbk");
    fb.textContent = "";
    if (it.feedback) {
      const f = it.feedback, tone = f.insufficient_evidence || f.score == null ? "warn" : f.score < 4 ? "low" : "ok";
      fb.append(el("span", "pill " + tone, scoreText(f)), document.createTextNode(" " + f.feedback));
    } else if (it.answer) {
      fb.append(el("span", "pill", "grading…"));
    }
  }

  function addSignal(s) {
    const names = { paste: "pasted text", focus_lost: "left the page", focus_regained: "came back", first_keystroke: "first keystroke" };
    const q = s.question_id && items.get(s.question_id);
    let v = "";
    if (s.kind === "paste") v = ` (${s.value} chars)`;
    if (s.kind === "focus_regained" || s.kind === "first_keystroke") v = s.value != null ? ` (after ${Math.round(s.value / 1000)}s)` : "";
    $("signals").append(el("li", null, `${when(s.at)} — ${names[s.kind] || s.kind}${v}${q ? ` · Q${q.question.order + 1}` : ""}`));
  }

  function addAction(a) {
    const d = a.detail || {};
    const what = { message: `messaged: “${d.text}”`, extend_time: `gave ${d.seconds}s more`, add_question: `added a question: “${d.text}”`, end: "ended the interview" }[a.kind] || a.kind;
    $("transcript").append(el("div", "kv", `${when(a.at)} — ${a.actor} ${what}`));
  }

  function transcript(f) {
    if (f.session_id !== watching) return;
    items = new Map();
    $("transcript").textContent = ""; $("signals").textContent = "";
    rows.set(f.session_id, f.session); seqs.set(f.session_id, Math.max(seqs.get(f.session_id) || 0, f.seq));
    renderRow(f.session_id);
    header(f.session, f.result);
    for (const it of f.items) { items.set(it.question.id, it); renderItem(it); }
    for (const it of f.items) for (const s of it.signals) addSignal(s);
    for (const a of f.actions) addAction(a);
  }

  function applyToWatch(f) {
    const row = rows.get(f.session_id);
    if (f.type === "question.asked") { const it = { question: f.question, answer: null, feedback: null }; items.set(f.question.id, it); renderItem(it); }
    if (f.type === "answer.received") {
      const it = items.get(f.answer.question_id); if (it) { it.answer = f.answer; renderItem(it); }
      text($("draft"), ""); text($("draft-at"), "answer submitted");
    }
    if (f.type === "answer.feedback") { const it = items.get(f.feedback.question_id); if (it) { it.feedback = f.feedback; renderItem(it); } }
    if (f.type === "integrity.signal") addSignal(f.signal);
    if (f.type === "admin.action") addAction(f.action);
    header(row, f.type === "interview.completed" ? f.result : null);
  }

  function draft(f) {
    if (f.session_id !== watching) return;
    text($("draft"), f.text);
    const it = items.get(f.question_id);
    text($("draft-at"), `${it ? `Q${it.question.order + 1} · ` : ""}typing… ${when(f.at)}`);
  }

  // --- the connection ----------------------------------------------------------------------------

  const handlers = {
    "feed.snapshot": snapshot,
    "watch.transcript": transcript,
    "answer.draft": draft,
    "action.accepted"(f) { text($("action-note"), `Done: ${f.action.kind.replace("_", " ")}.`); },
    "error"(f) { text($("action-note"), `${f.message} (${f.code})`); },
    "pong"() {},
  };

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/admin/live/`);
    socket = ws;
    ws.onopen = () => { retry = 0; text($("conn"), "live"); $("conn").className = "pill ok"; };
    ws.onmessage = (event) => {
      const f = JSON.parse(event.data);
      if (handlers[f.type]) handlers[f.type](f);
      else if (typeof f.seq === "number" && f.session_id) feedFrame(f);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      $("conn").className = "pill warn";
      if (event.code === 4401 || event.code === 4403) { text($("conn"), "not allowed — log in again"); return; }
      text($("conn"), "reconnecting…");
      setTimeout(connect, Math.min(10000, 500 * 2 ** retry++));
    };
  }
  setInterval(() => send({ type: "ping", ref: Date.now() }), 15000);

  // --- actions and review --------------------------------------------------------------------------

  function act(frame) {
    if (!watching) return;
    text($("action-note"), "…");
    send({ ...frame, session_id: watching, ref: ++refs });
  }
  function on(id, fn) { const f = $(id); if (f) f.addEventListener("submit", (e) => { e.preventDefault(); fn(); }); }
  on("f-message", () => { act({ type: "candidate.message", text: $("message").value }); $("message").value = ""; });
  on("f-extend", () => act({ type: "question.extend", seconds: Number($("extend-seconds").value) }));
  on("f-add", () => {
    const points = $("add-points").value.split("\n").map((s) => s.trim()).filter(Boolean);
    act({ type: "question.add", text: $("add-text").value, key_points: points.length ? points : null });
    $("add-text").value = ""; $("add-points").value = "";
  });
  on("f-end", () => { if (confirm("End this interview now? The candidate is told, and the result says so.")) act({ type: "interview.end" }); });
  on("f-review", async () => {
    if (!watching) return;
    const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
    const score = $("r-score").value;
    const response = await fetch(`/api/ai-interview/results/${watching}/review/`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(csrf) },
      body: JSON.stringify({ human_score: score === "" ? null : Number(score), notes: $("r-notes").value, final_decision: $("r-decision").value }),
    });
    const body = await response.json();
    text($("review-note"), response.ok ? `Saved (${body.result.human_review.final_decision.replace("_", " ")}).` : `${body.message} (${body.code})`);
  });

  connect();
})();
