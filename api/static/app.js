// callqa web UI: plain JS over the REST API; the API key is entered once and kept in localStorage.
"use strict";

const API = "/api/v1";
const state = { me: null };
const $main = () => document.getElementById("main");

function key() { return localStorage.getItem("callqa_key"); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${key()}` }, options.headers || {});
  const res = await fetch(API + path, Object.assign({}, options, { headers }));
  if (res.status === 401) { localStorage.removeItem("callqa_key"); showLogin(); throw new Error("unauthorized"); }
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  const type = res.headers.get("content-type") || "";
  return type.includes("application/json") ? res.json() : res;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const fmt = (v, d = 1) => (v === null || v === undefined ? "–" : typeof v === "number" ? v.toFixed(d) : v);
const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(0)} %`);
const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

function showLogin() {
  document.getElementById("nav").hidden = true;
  const main = $main();
  main.replaceChildren(document.getElementById("login-tpl").content.cloneNode(true));
  document.getElementById("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    localStorage.setItem("callqa_key", document.getElementById("api-key").value.trim());
    try { await start(); } catch (e) { document.getElementById("login-error").textContent = e.message; }
  });
}

async function start() {
  state.me = await api("/me");
  document.getElementById("nav").hidden = false;
  document.getElementById("who").textContent = `${state.me.name} (${state.me.role})`;
  if (!location.hash || location.hash === "#/") location.hash = "#/calls";
  else route();
}

// --- calls list ---------------------------------------------------------------------------------
async function callsPage(params) {
  const form = el("form", { class: "filters card", id: "filters" },
    ...[["manager_id", "Менеджер (id)"], ["q", "Поиск по тексту"], ["channel", "Канал"], ["campaign", "Кампания"],
        ["score_min", "Балл от"], ["score_max", "Балл до"], ["failed_item", "Провален пункт"],
        ["date_from", "С (ISO)"], ["date_to", "По (ISO)"]]
      .map(([name, label]) => el("label", {}, label, el("input", { name, value: params.get(name) || "" }))),
    el("label", {}, "Класс", select("call_class", ["", "lead", "non_target", "spam", "upsell", "service"], params)),
    el("label", {}, "Итог", select("outcome", ["", "sale", "next_step", "callback", "refusal", "none"], params)),
    el("button", { type: "submit" }, "Найти"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    location.hash = `#/calls?${q}`;
  });
  const table = el("table", { id: "calls" }, el("tr", {}, ...["№", "Файл", "Менеджер", "Начало", "Балл", "Класс",
    "Итог", "Канал", "Статус"].map((h) => el("th", {}, h))));
  const more = el("button", { type: "button" }, "Ещё");
  $main().replaceChildren(form, table, more);
  let cursor = null;
  async function load() {
    const q = new URLSearchParams(params);
    q.set("limit", "50");
    if (cursor) q.set("cursor", cursor);
    const page = await api(`/calls?${q}`);
    for (const c of page.items) {
      table.append(el("tr", {},
        el("td", {}, el("a", { href: `#/call/${c.id}`, class: "call-link" }, c.id)), el("td", {}, c.file),
        el("td", {}, c.manager || "–"), el("td", {}, c.started_at ? c.started_at.slice(0, 16).replace("T", " ") : "–"),
        el("td", {}, fmt(c.score, 0)), el("td", {}, c.call_class || "–"), el("td", {}, c.outcome || "–"),
        el("td", {}, c.source_channel || "–"), el("td", {}, c.state)));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", load);
  await load();
}

function select(name, options, params) {
  const s = el("select", { name });
  for (const o of options) {
    const opt = el("option", { value: o }, o || "любой");
    if (params.get(name) === o) opt.selected = true;
    s.append(opt);
  }
  return s;
}

// --- one call -----------------------------------------------------------------------------------
async function callPage(id) {
  const call = await api(`/calls/${id}`);
  const canOverride = ["admin", "head_of_sales"].includes(state.me.role);
  const audio = el("audio", { controls: "", id: "player", preload: "none" });
  api(`/calls/${id}/audio`).then(async (res) => { audio.src = URL.createObjectURL(await res.blob()); })
    .catch(() => audio.replaceWith(el("p", {}, "Аудио недоступно")));
  const head = el("div", { class: "card" },
    el("h2", {}, `Звонок ${call.id}: ${call.file}`),
    el("p", {}, `Менеджер: ${call.metadata.manager || "–"} · канал: ${call.metadata.source_channel || "–"} · `,
      `класс: `, el("span", { id: "call-class" }, call.call_class || "–"), ` · итог: ${call.outcome || "–"} · `,
      `состояние: ${call.state}`),
    el("p", {}, "Итоговый балл: ", el("span", { id: "score", class: "big" }, fmt(call.score, 0))),
    audio);
  const transcript = el("div", { class: "card", id: "transcript" }, el("h3", {}, "Расшифровка"),
    ...call.transcript.segments.map((s) => el("div", { class: `seg role-${s.role}`,
      onclick: () => { audio.currentTime = s.start_s; audio.play(); } },
    `${clock(s.start_s)} ${s.role === "manager" ? "Менеджер" : s.role === "client" ? "Клиент" : s.speaker}: ${s.text}`)));
  const cards = call.scorecards.map((card) => el("div", { class: "card scorecard" },
    el("h3", {}, `Чек-лист ${card.checklist_id} v${card.checklist_version}: авто ${fmt(card.auto_total, 0)}, `,
      el("span", { class: "final-total" }, `итог ${fmt(card.final_total, 0)}`)),
    el("table", {}, el("tr", {}, ...["Пункт", "Этап", "Авто", "Итог", "Доказательство", ""].map((h) => el("th", {}, h))),
      ...card.items.map((item) => {
        const title = ((card.detail.items || []).find((i) => i.item_id === item.item_id) || {}).title || item.item_id;
        const ev = (item.evidence || [])[0] || {};
        return el("tr", { "data-item": item.item_id },
          el("td", {}, title, item.critical ? " (крит.)" : ""), el("td", {}, item.stage),
          el("td", { class: item.auto_status }, item.auto_status),
          el("td", { class: `${item.final_status} final-status` }, item.final_status),
          el("td", {}, ev.quote ? `${clock(ev.start_s || 0)} «${ev.quote}»` : ev.reason || ""),
          el("td", {}, canOverride ? ["passed", "failed", "not_applicable"].filter((v) => v !== item.final_status)
            .map((v) => el("button", { type: "button", class: `small override-${v}`,
              onclick: () => override(id, { target: "item", item_id: item.item_id, checklist_id: card.checklist_id,
                value: v }) }, v === "passed" ? "✔ засчитать" : v === "failed" ? "✘ не засчитать" : "н/п")) : []));
      }))));
  const classBox = canOverride ? el("div", { class: "card" }, "Класс звонка: ",
    ...["lead", "non_target", "spam", "upsell", "service"].map((v) => el("button", { type: "button", class: "small",
      onclick: () => override(id, { target: "class", value: v }) }, v))) : null;
  $main().replaceChildren(head, ...cards, classBox || "", transcript);
}

async function override(callId, body) {
  const reason = prompt("Причина изменения");
  if (!reason) return;
  try {
    await api(`/calls/${callId}/overrides`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ reason }, body)) });
    await callPage(callId);
  } catch (e) { alert(e.message); }
}

// --- feedback -----------------------------------------------------------------------------------
async function feedbackPage(managerId) {
  if (!managerId) {
    const managers = await api("/managers");
    $main().replaceChildren(el("div", { class: "card" }, el("h2", {}, "Менеджеры"),
      el("ul", {}, ...managers.map((m) => el("li", {}, el("a", { href: `#/feedback/${m.id}` }, m.name),
        ` — звонков ${m.calls}, средний балл ${fmt(m.mean_score, 0)}`)))));
    return;
  }
  const fb = await api(`/managers/${managerId}/feedback`);
  const clip = (c, label) => c ? el("div", {}, el("b", {}, label), ` звонок ${c.call_id}, ${clock(c.start_s)}–${clock(c.end_s)}`,
    el("div", {}, ...c.transcript.map((t) => el("div", { class: `role-${t.role}` }, t.text)))) : el("div", {}, `${label}: нет`);
  $main().replaceChildren(
    el("div", { class: "card" }, el("h2", {}, `${fb.manager.name}: обратная связь за ${fb.window_days} дней`),
      el("h3", {}, "Над чем поработать"),
      ...(fb.focus.length ? fb.focus.map((f) => el("div", { class: "card" },
        el("h4", {}, `${f.title}: ${pct(f.manager_rate)} против ${pct(f.team_rate)} у команды`,
          f.significant ? "" : " (разница в пределах шума)"),
        clip(f.own_clip, "Ваш звонок"), clip(f.gold_clip, "Как надо"))) : [el("p", {}, "Явных отставаний нет")])),
    el("div", { class: "card" }, el("h3", {}, "Пункты чек-листа"),
      el("table", {}, el("tr", {}, ...["Пункт", "Менеджер", "95 % ДИ", "Команда", "95 % ДИ", "Вывод"].map((h) => el("th", {}, h))),
        ...fb.items.map((i) => el("tr", {}, el("td", {}, i.title), el("td", {}, `${pct(i.manager.rate)} (${i.manager.n})`),
          el("td", {}, `${pct(i.manager.ci_low)}–${pct(i.manager.ci_high)}`), el("td", {}, `${pct(i.team.rate)} (${i.team.n})`),
          el("td", {}, `${pct(i.team.ci_low)}–${pct(i.team.ci_high)}`), el("td", {}, i.verdict))))),
    el("div", { class: "card" }, el("h3", {}, "Речь против нормы команды"),
      el("table", {}, ...fb.speech_metrics.map((m) => el("tr", {}, el("td", {}, m.metric), el("td", {}, fmt(m.manager_mean, 2)),
        el("td", {}, `медиана ${fmt(m.team_median, 2)}`), el("td", {}, m.position || ""))))),
    el("div", { class: "card" }, el("h3", {}, "По неделям"),
      el("table", {}, ...fb.weekly_trend.map((w) => el("tr", {}, el("td", {}, w.week), el("td", {}, `${w.calls} звонков`),
        el("td", {}, `средний балл ${fmt(w.mean_score, 0)}`))))));
}

// --- channel report -----------------------------------------------------------------------------
async function reportsPage() {
  const rep = await api("/reports/lead-quality");
  const table = (rows, title) => el("div", { class: "card" }, el("h3", {}, title),
    el("table", {}, el("tr", {}, ...["", "Звонков", "Лиды", "Нецелевые", "Спам", ""].map((h) => el("th", {}, h))),
      ...rows.map((r) => el("tr", {}, el("td", {}, r.key || "(нет)"), el("td", {}, r.calls), el("td", {}, pct(r.lead_share)),
        el("td", {}, pct(r.non_target_share)), el("td", {}, pct(r.spam_share)),
        el("td", { class: "alert" }, r.spam_alert ? "спам выше порога" : "")))));
  $main().replaceChildren(
    el("div", { class: "card" }, el("h2", {}, "Качество лидов"), `Порог спама: ${pct(rep.spam_alert_share)}`,
      ...rep.alerts.map((a) => el("p", { class: "alert" }, a))),
    table(rep.channels, "По каналам"), table(rep.campaigns, "По кампаниям"));
}

// --- gold library -------------------------------------------------------------------------------
async function goldPage() {
  const entries = await api("/gold/entries");
  const parts = [el("div", { class: "card" }, el("h2", {}, "Золотая библиотека"),
    el("table", {}, ...entries.map((e) => el("tr", {}, el("td", {}, el("a", { href: `#/call/${e.call_id}` }, e.title)),
      el("td", {}, (e.tags || []).join(", ")), el("td", {}, e.call ? `балл ${fmt(e.call.score, 0)}` : "")))))];
  if (["admin", "trainer", "head_of_sales"].includes(state.me.role)) {
    const cands = await api("/gold/candidates");
    parts.push(el("div", { class: "card" }, el("h3", {}, "Кандидаты"),
      el("table", {}, ...cands.map((c) => el("tr", {}, el("td", {}, el("a", { href: `#/call/${c.call_id}` }, `Звонок ${c.call_id}`)),
        el("td", {}, c.manager || ""), el("td", {}, `балл ${fmt(c.score, 0)}`),
        el("td", {}, ["admin", "trainer"].includes(state.me.role) ? el("button", { type: "button", class: "small",
          onclick: async () => {
            const title = prompt("Название");
            if (!title) return;
            await api("/gold/entries", { method: "POST", headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ call_id: c.call_id, title }) });
            goldPage();
          } }, "В библиотеку") : ""))))));
  }
  $main().replaceChildren(...parts);
}

async function route() {
  if (!key()) { showLogin(); return; }
  const [path, query] = location.hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  try {
    if (parts[0] === "call" && parts[1]) await callPage(parts[1]);
    else if (parts[0] === "feedback") await feedbackPage(parts[1] || (state.me.role === "manager" ? state.me.manager_id : null));
    else if (parts[0] === "reports") await reportsPage();
    else if (parts[0] === "gold") await goldPage();
    else await callsPage(new URLSearchParams(query || ""));
  } catch (e) {
    if (e.message !== "unauthorized") $main().replaceChildren(el("p", { class: "error" }, e.message));
  }
}

window.addEventListener("hashchange", route);
document.getElementById("logout").addEventListener("click", () => { localStorage.removeItem("callqa_key"); showLogin(); });
if (key()) start().catch(() => showLogin()); else showLogin();
