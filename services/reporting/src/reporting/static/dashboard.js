// The ops dashboard (issue 6): platform staff sign in with e-mail and password (sign_in.js,
// against identity), then the page polls reporting's /ops/requests/summary and /ops/kafka with
// the access token and draws what they say. A refused token re-prompts: 401 (expired or
// invalid) asks to sign in again, 403 says the account is not staff's.
//
// The token lives in this module's memory only: never in sessionStorage, localStorage,
// cookies or URLs. Behind the gateway this origin is every service's (consent's pages, the
// orchestrator's export page...), and storage is readable by any script of the origin; memory
// is not. The cost is a sign-in after a reload, on a token that lives 15 minutes anyway.
// Everything from the API is written with textContent, never as HTML. The API's URLs are
// relative to the page (…/ops/dashboard), so it works on reporting and behind /api/reporting/.
import { SignInError, identityBase, problemText, signIn } from "./sign_in.js";

const params = new URLSearchParams(window.location.search);
// Poll interval in seconds (?refresh=N, at least 1, default 15).
const refreshSeconds = Math.max(1, Number.parseInt(params.get("refresh") || "15", 10) || 15);
const charts = { byState: null, replyTimes: null };
const identity = identityBase();
let token = null;
let timer = null;
// Bumped on every sign-in and sign-out: a poll of an earlier token never schedules another.
let generation = 0;

const $ = (id) => document.getElementById(id);

function setStatus(element, text, isError) {
  element.textContent = text;
  element.classList.toggle("error", Boolean(isError));
}

// The header's status line; `reason` (data-reason) names the state for people and tests alike:
// signed-out, signing-in, bad-credentials, failed, unreachable, unavailable, forbidden,
// expired, loading, updated, error.
function say(reason, text, isError = false) {
  setStatus($("status"), text, isError);
  $("status").dataset.reason = reason;
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
  if (!response.ok) throw new HttpError(response.status, await problemText(response));
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

// A row of a response-times table: who (`nameKey`, also the row's data attribute), how many
// (`countKey`), then p50, p95 and max in seconds.
function timesRow(nameKey, countKey) {
  const dataKey = nameKey.replace(/_(.)/g, (_, letter) => letter.toUpperCase());
  return (times) => {
    const tr = document.createElement("tr");
    tr.dataset[dataKey] = times[nameKey];
    tr.append(
      cell(times[nameKey]),
      cell(String(times[countKey]), { value: times[countKey] }),
      ...["p50", "p95", "max"].map((stat) =>
        cell(seconds(times[`${stat}_seconds`]), { value: times[`${stat}_seconds`] }),
      ),
    );
    return tr;
  };
}

function openRequestsMore(summary) {
  return (
    `Showing the ${summary.open_requests.length} earliest deadlines of ${summary.open} open ` +
    "requests; the API pages through the rest (GET /ops/requests/open)."
  );
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

  // More open requests than the summary lists: say so, and where the rest are.
  const more = $("open-requests-more");
  more.hidden = !summary.open_requests_next;
  more.textContent = more.hidden ? "" : openRequestsMore(summary);

  fillTable("reply-times", summary.reply_times, timesRow("participant", "replies"));
  // Sub-processors' confirmation times (absent from older reporting versions: none shown).
  fillTable(
    "confirmation-times",
    summary.confirmation_times || [],
    timesRow("sub_processor", "confirmations"),
  );
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

// A refused token will not get better by polling: drop it and say why (401: expired or
// invalid, sign in again; 403: signed in, but not as platform staff).
function refused(error) {
  if (error.status === 401) {
    signOut("expired", "Your session has ended (the token expired or was refused): sign in again.", true);
    return true;
  }
  if (error.status === 403) {
    signOut("forbidden", "This account is not platform staff: the ops dashboard is for platform staff only.", true);
    return true;
  }
  return false;
}

async function refresh(mine) {
  if (mine !== generation) return;
  timer = null;
  try {
    const summary = await getJson("requests/summary");
    if (mine !== generation) return;
    showSummary(summary);
    say("updated", `Updated ${new Date().toLocaleTimeString()}; refreshing every ${refreshSeconds} s.`);
  } catch (error) {
    if (mine !== generation || refused(error)) return;
    say("error", `Requests: ${error.message}`, true);
  }
  try {
    const health = await getJson("kafka");
    if (mine !== generation) return;
    showKafka(health);
    setStatus($("kafka-status"), "");
  } catch (error) {
    if (mine !== generation || refused(error)) return;
    setStatus($("kafka-status"), `Kafka: ${error.message}`, true);
  }
  // The next poll starts after this one ended: slow answers never pile up.
  if (token !== null && mine === generation) {
    timer = window.setTimeout(() => refresh(mine), refreshSeconds * 1000);
  }
}

// Nothing of a signed-out session stays on the page: figures, tables and charts go too.
function clearFigures() {
  for (const element of document.querySelectorAll("[data-figure], #today")) element.textContent = "";
  for (const body of document.querySelectorAll("#dashboard tbody")) body.replaceChildren();
  for (const key of Object.keys(charts)) {
    if (charts[key] !== null) charts[key].destroy();
    charts[key] = null;
  }
  setStatus($("kafka-status"), "");
}

function showSignIn(signedIn) {
  $("sign-in").hidden = signedIn;
  $("session").hidden = !signedIn;
  $("dashboard").hidden = !signedIn;
}

function signOut(reason, text, isError = false) {
  token = null;
  generation += 1;
  if (timer !== null) window.clearTimeout(timer);
  timer = null;
  clearFigures();
  showSignIn(false);
  say(reason, text, isError);
  $("password").value = "";
  $("password").focus();
}

async function onSubmit(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  if (!email || !password) return;
  const button = $("sign-in").querySelector("button");
  button.disabled = true;
  say("signing-in", "Signing in…");
  try {
    ({ token } = await signIn(identity, email, password));
  } catch (error) {
    if (!(error instanceof SignInError)) throw error;
    say(error.reason, error.message, true);
    $("password").value = "";
    $("password").focus();
    return;
  } finally {
    button.disabled = false;
  }
  $("password").value = "";
  $("signed-in-as").textContent = email;
  showSignIn(true);
  say("loading", "Loading…");
  generation += 1;
  refresh(generation);
}

$("sign-in").addEventListener("submit", onSubmit);
$("sign-out").addEventListener("click", () => signOut("signed-out", "Signed out."));
if (!identity) {
  // Served directly and no identity address configured: there is nowhere to sign in.
  for (const element of $("sign-in").elements) element.disabled = true;
  say(
    "unavailable",
    "Sign-in needs identity: open this page through the gateway (/api/reporting/ops/dashboard), " +
      "or set BYGGRYGG_REPORTING_DASHBOARD_IDENTITY_URL.",
    true,
  );
}
