// The ops dashboard (issue 6): asks for a platform-staff access token, then polls reporting's
// /ops/requests/summary and /ops/kafka with it and draws what they say. The token stays in
// this page's memory only (never stored, never in a URL). Everything from the API is written
// with textContent, never as HTML. URLs are relative to the page (…/ops/dashboard), so the
// page works both directly on reporting and behind the gateway's /api/reporting/ prefix.
"use strict";

(() => {
  const params = new URLSearchParams(window.location.search);
  // Poll interval in seconds (?refresh=N, at least 1, default 15).
  const refreshSeconds = Math.max(1, Number.parseInt(params.get("refresh") || "15", 10) || 15);
  const charts = { byState: null, replyTimes: null };
  let token = null;
  let timer = null;
  // Bumped on every connect: a poll of an earlier token never schedules another one.
  let generation = 0;

  const $ = (id) => document.getElementById(id);

  function setStatus(element, text, isError) {
    element.textContent = text;
    element.classList.toggle("error", Boolean(isError));
  }

  function cell(text, options = {}) {
    const td = document.createElement("td");
    td.textContent = text;
    if (options.value !== undefined) {
      td.dataset.value = String(options.value);
      td.classList.add("number");
    }
    return td;
  }

  function fillTable(id, rows, makeRow) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren(...rows.map(makeRow));
  }

  function seconds(value) {
    // Replies often take well under a second: keep two decimals there.
    return value < 10 ? value.toFixed(2) : value.toFixed(1);
  }

  class HttpError extends Error {
    constructor(status, detail) {
      super(detail || `HTTP ${status}`);
      this.status = status;
    }
  }

  async function getJson(path) {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
    });
    if (!response.ok) {
      let detail = "";
      try {
        detail = (await response.json()).detail || "";
      } catch (_ignored) {
        // Not a problem document: the status says enough.
      }
      throw new HttpError(response.status, detail);
    }
    return response.json();
  }

  function drawChart(key, canvasId, config) {
    if (typeof window.Chart !== "function") return;
    if (charts[key] === null) {
      charts[key] = new window.Chart($(canvasId), config);
      return;
    }
    charts[key].data = config.data;
    charts[key].update("none");
  }

  function showSummary(summary) {
    $("today").textContent = `as of ${summary.today}`;
    for (const element of document.querySelectorAll("[data-figure]")) {
      element.textContent = String(summary[element.dataset.figure]);
    }
    $("at-risk-days").textContent = String(summary.at_risk_days);
    $("reply-window-days").textContent = String(summary.reply_window_days);

    const states = Object.keys(summary.by_state).sort();
    fillTable("by-state", states, (state) => {
      const tr = document.createElement("tr");
      tr.dataset.state = state;
      tr.append(cell(state), cell(String(summary.by_state[state]), { value: summary.by_state[state] }));
      return tr;
    });
    drawChart("byState", "by-state-chart", {
      type: "bar",
      data: {
        labels: states,
        datasets: [{ label: "Requests", data: states.map((s) => summary.by_state[s]) }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });

    fillTable("open-requests", summary.open_requests, (request) => {
      const tr = document.createElement("tr");
      tr.dataset.requestId = request.request_id;
      if (request.overdue) tr.classList.add("overdue");
      else if (request.at_risk) tr.classList.add("at-risk");
      const flags = [
        request.overdue && "overdue",
        request.at_risk && "at risk",
        request.escalated && "escalated",
        request.on_hold && "on hold",
        request.deadline_extended && "extended",
      ].filter(Boolean);
      const code = document.createElement("code");
      code.textContent = request.request_id;
      const idCell = document.createElement("td");
      idCell.append(code);
      tr.append(
        idCell,
        cell(request.kind),
        cell(request.state),
        cell(request.deadline),
        cell(flags.join(", ")),
        cell(`${request.participants_answered}/${request.participants_expected}`),
        cell(`${request.sub_processors_confirmed}/${request.sub_processors_expected}`),
      );
      return tr;
    });

    fillTable("reply-times", summary.reply_times, (times) => {
      const tr = document.createElement("tr");
      tr.dataset.participant = times.participant;
      tr.append(
        cell(times.participant),
        cell(String(times.replies), { value: times.replies }),
        cell(seconds(times.p50_seconds), { value: times.p50_seconds }),
        cell(seconds(times.p95_seconds), { value: times.p95_seconds }),
        cell(seconds(times.max_seconds), { value: times.max_seconds }),
      );
      return tr;
    });
    // Sub-processors' confirmation times (absent from older reporting versions: none shown).
    fillTable("confirmation-times", summary.confirmation_times || [], (times) => {
      const tr = document.createElement("tr");
      tr.dataset.subProcessor = times.sub_processor;
      tr.append(
        cell(times.sub_processor),
        cell(String(times.confirmations), { value: times.confirmations }),
        cell(seconds(times.p50_seconds), { value: times.p50_seconds }),
        cell(seconds(times.p95_seconds), { value: times.p95_seconds }),
        cell(seconds(times.max_seconds), { value: times.max_seconds }),
      );
      return tr;
    });
    drawChart("replyTimes", "reply-times-chart", {
      type: "bar",
      data: {
        labels: summary.reply_times.map((t) => t.participant),
        datasets: ["p50", "p95", "max"].map((stat) => ({
          label: `${stat} (s)`,
          data: summary.reply_times.map((t) => t[`${stat}_seconds`]),
        })),
      },
      options: { animation: false, maintainAspectRatio: false },
    });
  }

  function showKafka(health) {
    fillTable("consumer-lag", health.groups, (group) => {
      const tr = document.createElement("tr");
      tr.dataset.group = group.group;
      tr.append(cell(group.group), cell(String(group.lag), { value: group.lag }));
      return tr;
    });
    fillTable("dead-letters", health.dead_letters, (topic) => {
      const tr = document.createElement("tr");
      tr.dataset.topic = topic.topic;
      tr.append(cell(topic.topic), cell(String(topic.messages), { value: topic.messages }));
      return tr;
    });
  }

  async function refresh(mine) {
    if (mine !== generation) return;
    timer = null;
    try {
      const summary = await getJson("requests/summary");
      if (mine !== generation) return;
      showSummary(summary);
      setStatus($("status"), `Updated ${new Date().toLocaleTimeString()}; refreshing every ${refreshSeconds} s.`);
    } catch (error) {
      if (mine !== generation) return;
      setStatus($("status"), `Requests: ${error.message}`, true);
      if (error.status === 401 || error.status === 403) {
        // A wrong or expired token will not get better by polling: ask for another one.
        token = null;
        $("dashboard").hidden = true;
        return;
      }
    }
    try {
      const health = await getJson("kafka");
      if (mine !== generation) return;
      showKafka(health);
      setStatus($("kafka-status"), "");
    } catch (error) {
      setStatus($("kafka-status"), `Kafka: ${error.message}`, true);
    }
    // The next poll starts after this one ended: slow answers never pile up.
    if (token !== null && mine === generation) {
      timer = window.setTimeout(() => refresh(mine), refreshSeconds * 1000);
    }
  }

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("token");
    token = input.value.trim();
    input.value = "";
    if (!token) return;
    if (timer !== null) window.clearTimeout(timer);
    $("dashboard").hidden = false;
    setStatus($("status"), "Loading…");
    generation += 1;
    refresh(generation);
  });
})();
