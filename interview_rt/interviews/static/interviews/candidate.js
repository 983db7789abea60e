// The candidate page: a client of the documented socket protocol only (docs/protocol.md).
// A snapshot, then logged frames in seq order; after a drop it reconnects with the last seq it
// processed and gets exactly what it missed. An answer sent but not acknowledged is sent again
// with the same client_id (the server stores it once). Drafts (at most 2 a second) and integrity
// signals go to the staff watching; the notice tells the candidate so.
(function () {
  "use strict";
  const token = JSON.parse(document.getElementById("token-data").textContent);
  // The server-rendered default; the snapshot's notice (this job's, or the deployment's) replaces it.
  let noticeVersion = JSON.parse(document.getElementById("notice-version").textContent);
  const $ = (id) => document.getElementById(id);
  const show = (id, on) => { $(id).hidden = !on; };
  const text = (el, v) => { el.textContent = v == null ? "" : String(v); };
  const VIEWS = ["consent", "preparing", "question", "waiting", "result"];

  let socket = null, lastSeq = null, retry = 0, retryTimer = null, retryAfterMs = 0, done = false, stopped = false;
  let total = 0, feedbackMode = "immediate";
  const answeredIds = new Set(), feedbackIds = new Set(), questions = {};
  let current = null, shownAt = 0, typed = false, away = null;
  let pending = null, consentQueued = false;
  const outbox = [];
  let lastMessageAt = 0, lastDraftAt = 0, draftTimer = null;

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function view(name) { for (const id of VIEWS) show(id, id === name); }
  function setConn(message) { text($("conn"), message); show("conn", !!message); }

  function progress(answered) {
    if (!total) return;
    const n = Math.min(answered, total);
    show("progress-wrap", true);
    text($("progress-label"), `${n} of ${total} answered`);
    $("progress-bar").style.width = `${Math.round((100 * n) / total)}%`;
  }

  // --- rendering ---------------------------------------------------------------------------------

  function showQuestion(q) {
    questions[q.id] = q;
    if (current && current.id === q.id) { current = q; tick(); return; } // a replay: keep what was typed
    current = q; shownAt = Date.now(); typed = false;
    text($("q-label"), `Question ${q.order + 1}${total ? " of " + total : ""}${q.competency ? " · " + q.competency : ""}`);
    text($("q-text"), q.text);
    $("answer").value = ""; $("answer").disabled = false; $("send").disabled = false;
    text($("send-note"), "");
    text($("status"), "");
    view("question"); tick();
  }

  function waiting(message) { current = null; text($("waiting-text"), message); view("waiting"); }

  function tick() {
    if (!current || !current.deadline_ms) { text($("timer"), ""); return; }
    const left = Math.round((current.deadline_ms - Date.now()) / 1000);
    if (left <= 0) { text($("timer"), "Time is up — you can still submit"); $("timer").classList.add("late"); return; }
    $("timer").classList.toggle("late", left <= 30);
    text($("timer"), `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`);
  }
  setInterval(tick, 1000);

  function label(questionId, order) {
    const q = questions[questionId];
    return `Question ${(q ? q.order : order ?? 0) + 1}${q ? ": " + q.text : ""}`;
  }

  function scoreText(f) {
    return f.insufficient_evidence || f.score == null ? "Not enough to grade" : `Score ${f.score} / 10`;
  }

  function addFeedback(f) {
    if (feedbackIds.has(f.response_id)) return;
    feedbackIds.add(f.response_id);
    const card = document.createElement("div");
    card.className = "card feedback";
    card.dataset.question = f.question_id;
    card.innerHTML = "<p class='fq'></p><p class='score'></p><p class='fb'></p>";
    text(card.querySelector(".fq"), label(f.question_id));
    text(card.querySelector(".score"), scoreText(f));
    text(card.querySelector(".fb"), f.feedback);
    $("feedback").prepend(card);
    show("history", true);
  }

  function addMessage(f) {
    const card = document.createElement("div");
    card.className = "card message";
    card.innerHTML = "<strong>Message from your interviewer</strong><p></p>";
    text(card.querySelector("p"), f.text);
    $("messages").append(card);
  }

  function showResult(result, answers) {
    done = true; current = null;
    view("result");
    text($("result-summary"), (result.ended_early ? "The interviewer ended the interview. " : "") + (result.summary || ""));
    const list = $("result-answers");
    list.textContent = "";
    for (const a of answers) {
      const li = document.createElement("li");
      li.innerHTML = "<span class='fq'></span> — <span class='score'></span><br><span class='muted fb'></span>";
      text(li.querySelector(".fq"), label(a.question_id, a.order));
      text(li.querySelector(".score"), scoreText(a));
      text(li.querySelector(".fb"), a.feedback);
      list.append(li);
    }
    text($("status"), "Completed");
    progress(total);
  }

  // --- frames ------------------------------------------------------------------------------------

  const handlers = {
    "session.state"(f) {
      const s = f.session;
      total = s.question_count; feedbackMode = s.feedback_mode;
      text($("title"), `${s.job_title} interview`);
      document.title = `${s.job_title} interview`;
      progress(Math.max(s.answered, answeredIds.size));
      if (s.result) { showResult(s.result, s.answers || []); return; }
      if (s.notice) {
        noticeVersion = s.notice.version;
        text($("notice-text"), s.notice.text);
        text($("notice-version-label"), `Notice version ${s.notice.version}`);
      }
      if (s.awaiting === "consent") { view("consent"); return; }
      if (s.current_question) { showQuestion(s.current_question); return; }
      if (s.awaiting === "questions" || s.awaiting === "start") { view("preparing"); return; }
      if (s.awaiting === "feedback" || s.awaiting === "result") { waiting("Grading your answer…"); }
    },
    "consent.recorded"() { if (!current && !done) view("preparing"); },
    "question.asked"(f) { if (f.total) total = f.total; showQuestion(f.question); progress(answeredIds.size); },
    "answer.accepted"(f) {
      if (pending && pending.client_id === f.client_id) pending = null;
      answeredIds.add(f.response_id);
      progress(answeredIds.size);
      if (current && current.id === f.question_id) {
        waiting(feedbackMode === "immediate" ? "Answer received; grading…" : "Answer received.");
      }
      if (f.late) text($("status"), "That answer came after the time limit; it is still graded.");
    },
    "answer.feedback"(f) { addFeedback(f); },
    "question.extended"(f) {
      if (current && current.id === f.question_id) {
        current.deadline_ms = f.deadline_ms; tick();
        text($("send-note"), `Your interviewer gave you ${f.added_seconds} more seconds.`);
      }
    },
    "interviewer.message"(f) { addMessage(f); },
    "interview.ended"() { waiting("The interviewer ended the interview; preparing your summary…"); },
    "interview.completed"(f) { showResult(f.result, f.answers); },
    "error"(f) {
      text($("error"), `${f.message} (${f.code})`);
      if (f.code === "rate_limited") {
        // Refused unread: the same frame is sent again once the server says it may be.
        retryAfterMs = 1000 * (f.retry_after || 1);
        if (pending && f.client_id === pending.client_id) {
          const again = pending;
          setTimeout(() => { if (pending === again) send(again); }, retryAfterMs);
        }
        return;
      }
      if (pending && f.client_id === pending.client_id) { pending = null; $("send").disabled = false; $("answer").disabled = false; }
    },
    "pong"() {},
  };

  function onFrame(frame) {
    lastMessageAt = Date.now();
    if (typeof frame.seq === "number" && frame.type !== "session.state") {
      if (lastSeq !== null && frame.seq <= lastSeq && !frame.duplicate) return; // already processed
      if (!frame.duplicate) lastSeq = frame.seq;
    }
    (handlers[frame.type] || (() => {}))(frame);
  }

  // --- the connection ----------------------------------------------------------------------------

  function connect() {
    clearTimeout(retryTimer); retryTimer = null;
    if (stopped || (socket && socket.readyState <= WebSocket.OPEN)) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // A fresh page replays the whole log (every question with its feedback); a reconnect only
    // what it missed.
    const from = lastSeq === null ? 0 : lastSeq;
    if (lastSeq === null) lastSeq = 0;
    const ws = new WebSocket(`${scheme}://${location.host}/ws/interview/${encodeURIComponent(token)}/?last_seq=${from}`);
    socket = ws;
    ws.onopen = () => {
      retry = 0; lastMessageAt = Date.now(); setConn(""); text($("error"), "");
      if (consentQueued) { consentQueued = false; send({ type: "consent.accept", notice_version: noticeVersion }); }
      if (pending) send(pending);
      while (outbox.length && send(outbox[0])) outbox.shift();
    };
    ws.onmessage = (event) => onFrame(JSON.parse(event.data));
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4429) {
        // Too many connects: wait as long as the error frame before the close said, then resume.
        setConn("Reconnecting shortly… your answers are safe.");
        retryTimer = setTimeout(connect, retryAfterMs || 5000);
        retryAfterMs = 0;
        return;
      }
      if (event.code >= 4400 && event.code < 4500) {
        stopped = true;
        setConn(event.code === 4409 ? "This interview was opened in another window." : "This interview link cannot be used.");
        return;
      }
      if (done) return;
      setConn(navigator.onLine === false ? "You are offline — reconnecting when the network is back…" : "Reconnecting… your answers are safe.");
      retryTimer = setTimeout(connect, Math.min(5000, 250 * 2 ** retry++));
    };
  }

  // A connection that went quiet (a dead network does not always close a socket) is replaced.
  setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastMessageAt > 20000) { socket.close(); return; }
    send({ type: "ping", ref: Date.now() });
  }, 8000);
  window.addEventListener("offline", () => { if (socket) socket.close(); });
  window.addEventListener("online", () => { if (!done && !stopped) connect(); });

  // --- the candidate's input ---------------------------------------------------------------------

  $("accept").addEventListener("click", () => {
    view("preparing");
    if (!send({ type: "consent.accept", notice_version: noticeVersion })) consentQueued = true;
  });

  $("send").addEventListener("click", () => {
    if (!current) return;
    pending = {
      type: "answer.submit",
      client_id: crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`,
      question_id: current.id,
      text: $("answer").value,
      submitted_at: Date.now(),
    };
    $("send").disabled = true; $("answer").disabled = true;
    clearTimeout(draftTimer); draftTimer = null;
    text($("send-note"), send(pending) ? "Sending…" : "You are offline; your answer will be sent when the connection is back.");
  });

  function sendDraft() {
    draftTimer = null; lastDraftAt = Date.now();
    if (current && !pending) send({ type: "answer.draft", question_id: current.id, text: $("answer").value });
  }
  $("answer").addEventListener("input", () => {
    const wait = 500 - (Date.now() - lastDraftAt);
    if (wait <= 0 && !draftTimer) sendDraft();
    else if (!draftTimer) draftTimer = setTimeout(sendDraft, Math.max(0, wait));
  });

  function signal(kind, value) {
    const frame = { type: "integrity.signal", kind, question_id: current ? current.id : null, value: value ?? null };
    if (!send(frame) && outbox.length < 50) outbox.push(frame);
  }
  $("answer").addEventListener("keydown", () => {
    if (!typed && current) { typed = true; signal("first_keystroke", Date.now() - shownAt); }
  });
  $("answer").addEventListener("paste", (e) => {
    const pasted = (e.clipboardData && e.clipboardData.getData("text")) || "";
    signal("paste", pasted.length);
  });
  function lost() { if (away === null && !done) { away = Date.now(); signal("focus_lost"); } }
  function regained() { if (away !== null) { signal("focus_regained", Date.now() - away); away = null; } }
  window.addEventListener("blur", lost);
  window.addEventListener("focus", regained);
  document.addEventListener("visibilitychange", () => (document.hidden ? lost() : regained()));

  connect();
})();
