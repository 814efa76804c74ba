// Corral dashboard: one page per hash (#projects, #usage, ...), drawn from the JSON API.
// Every string from the API goes into the page as text, never as HTML: job names, users and
// project names are written by tenants.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#3f8fe8", "#e8743f", "#46a35e", "#a35ec4", "#c4a93f", "#3fc4bb",
                 "#c43f6a", "#6a7380"];
let me = null;

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
                                      : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const token = sessionStorage.getItem("corral-token") || "";
  const answer = await fetch(path, {...options, headers: {
    "Authorization": "Bearer " + token, "Content-Type": "application/json"}});
  if (answer.status === 401) { showLogin("Sign in with your token."); throw new Error("401"); }
  const body = answer.headers.get("content-type")?.includes("json") ? await answer.json()
                                                                   : await answer.text();
  if (!answer.ok) {
    const detail = typeof body === "object" ? body.detail : body;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return body;
}

function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message;
  document.getElementById("page").replaceChildren();
}

const num = (x, digits = 1) => x === null || x === undefined ? "–" :
  Number(x).toLocaleString("en", {maximumFractionDigits: digits});
const pct = (x) => x === null || x === undefined ? "–" : Math.round(x * 100) + "%";
const when = (s) => s === null || s === undefined ? "–" :
  (s > 1e9 ? new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ")
           : "day " + Math.floor(s / 86400) + " " + new Date(s * 1000).toISOString().slice(11, 16));
const table = (head, rows) => el("table", {}, el("tr", {}, head.map((h) => el("th", {}, h))),
  rows);

// -- projects ------------------------------------------------------------------------
async function projectsPage(page) {
  const projects = await api("/api/projects");
  page.append(el("h2", {}, "Projects"));
  const rows = projects.map((p) => el("tr", {"data-project": p.name},
    el("td", {}, p.name), el("td", {}, p.parent || ""), el("td", {class: "num"}, num(p.weight)),
    el("td", {class: "num"}, p.quota_gpus === null ? "none" : num(p.quota_gpus, 3)),
    el("td", {class: "num"}, p.borrowing_gpus === null ? "any idle" : num(p.borrowing_gpus, 3)),
    el("td", {}, p.members.join(", ")),
    me.admin ? el("td", {}, el("button", {onclick: () => fillForm(p)}, "Edit")) : null));
  page.append(table(["Project", "Parent", "Weight", "Quota GPUs", "May borrow", "Members",
                     ...(me.admin ? [""] : [])], rows));
  if (!me.admin) return;
  const field = (name, label, attrs = {}) =>
    el("label", {}, label, el("input", {name, ...attrs}));
  const form = el("form", {class: "inline", id: "project-form"},
    field("name", "Name", {required: true, pattern: "[a-z0-9]([-a-z0-9]*[a-z0-9])?"}),
    field("parent", "Parent"), field("weight", "Weight", {type: "number", step: "any",
                                                            value: "1", min: "0"}),
    field("quota_gpus", "Quota GPUs", {type: "number", step: "any", min: "0"}),
    field("borrowing_gpus", "May borrow GPUs (empty: any)", {type: "number", step: "any",
                                                            min: "0"}),
    field("members", me.mode === "live" ? "Namespaces (comma-separated)"
                                        : "Members (comma-separated)"),
    el("button", {type: "submit"}, "Save"), el("span", {class: "error", id: "form-error"}));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const number = (key) => data.get(key) === "" ? null : Number(data.get(key));
    const body = {name: data.get("name"), parent: data.get("parent") || null,
                  weight: number("weight") ?? 1, quota_gpus: number("quota_gpus"),
                  borrowing_gpus: number("borrowing_gpus"),
                  members: data.get("members").split(",").map((m) => m.trim()).filter(Boolean)};
    const exists = projects.some((p) => p.name === body.name);
    try {
      await api(exists ? "/api/projects/" + encodeURIComponent(body.name) : "/api/projects",
                {method: exists ? "PUT" : "POST", body: JSON.stringify(body)});
      route();
    } catch (error) { document.getElementById("form-error").textContent = error.message; }
  });
  page.append(el("h2", {}, "Create or change a project"), form);
}

function fillForm(p) {
  const form = document.getElementById("project-form");
  form.name.value = p.name; form.parent.value = p.parent || ""; form.weight.value = p.weight;
  form.quota_gpus.value = p.quota_gpus ?? ""; form.borrowing_gpus.value = p.borrowing_gpus ?? "";
  form.members.value = p.members.join(", ");
}

// -- usage ---------------------------------------------------------------------------
function lineChart(series, width = 900, height = 260) {
  const pad = 40, days = series.flatMap((s) => s.days);
  if (!days.length) return el("p", {class: "muted"}, "No usage recorded yet.");
  const x0 = Math.min(...days), x1 = Math.max(...days, x0 + 1);
  const top = Math.max(1, ...series.flatMap((s) => [...s.gpu_hours,
                                                    (s.quota_gpus ?? 0) * 24]));
  const x = (d) => pad + (d - x0) / (x1 - x0) * (width - 2 * pad);
  const y = (v) => height - pad + -v / top * (height - 2 * pad);
  const svg = el("svg:svg", {width, height, class: "chart", role: "img",
                             "aria-label": "GPU-hours per day"});
  svg.append(el("svg:line", {x1: pad, y1: y(0), x2: width - pad, y2: y(0), stroke: "#999"}),
             el("svg:text", {x: 4, y: pad - 8, "font-size": 11}, num(top, 0) + " GPU-h/day"),
             el("svg:text", {x: pad, y: height - 10, "font-size": 11}, "day " + x0),
             el("svg:text", {x: width - pad - 40, y: height - 10, "font-size": 11}, "day " + x1));
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = s.days.map((d, j) => x(d) + "," + y(s.gpu_hours[j])).join(" ");
    svg.append(el("svg:polyline", {points, fill: "none", stroke: colour, "stroke-width": 2},
                  el("svg:title", {}, s.key)));
    if (s.quota_gpus !== null && s.quota_gpus !== undefined)
      svg.append(el("svg:line", {x1: pad, x2: width - pad, y1: y(s.quota_gpus * 24),
                                 y2: y(s.quota_gpus * 24), stroke: colour,
                                 "stroke-dasharray": "4 4"},
                    el("svg:title", {}, s.key + " quota")));
  });
  const legend = el("div", {class: "legend"}, series.map((s, i) => el("span", {},
    el("span", {class: "swatch", style: "background:" + COLOURS[i % COLOURS.length]}), s.key)));
  return el("div", {}, svg, legend);
}

async function usagePage(page) {
  const usage = await api("/api/usage");
  page.append(el("h2", {}, "GPU-hours per day by project (dashed: quota x 24 h)"),
              lineChart(usage.projects.slice(0, COLOURS.length)));
  const quotaHours = (s) => s.quota_gpus === null ? null : s.quota_gpus * 24 * s.days.length;
  page.append(table(["Project", "GPU-hours", "Jobs", "Quota GPU-hours over those days", "Of quota"],
    usage.projects.map((s) => el("tr", {}, el("td", {}, s.key),
      el("td", {class: "num"}, num(s.total_gpu_hours)), el("td", {class: "num"}, s.attempts),
      el("td", {class: "num"}, num(quotaHours(s))),
      el("td", {class: "num"}, quotaHours(s) ? pct(s.total_gpu_hours / quotaHours(s)) : "–")))));
  page.append(el("h2", {}, "By user (the 200 who used most)"),
    table(["User", "Project", "GPU-hours", "Jobs"],
      usage.users.sort((a, b) => b.gpu_hours - a.gpu_hours).slice(0, 200).map((u) =>
        el("tr", {}, el("td", {}, u.user || "(none)"), el("td", {}, u.project),
           el("td", {class: "num"}, num(u.gpu_hours)), el("td", {class: "num"}, u.attempts)))));
}

// -- jobs ----------------------------------------------------------------------------
async function jobsPage(page, params) {
  const query = new URLSearchParams(params);
  query.set("limit", "50");
  const [result, projects] = await Promise.all([api("/api/jobs?" + query), api("/api/projects")]);
  const form = el("form", {class: "inline", id: "job-filters"},
    el("label", {}, "Project", el("select", {name: "project"}, el("option", {value: ""}, "all"),
      projects.map((p) => el("option", {value: p.name, selected: params.get("project") === p.name
                                                               ? "" : null}, p.name)))),
    el("label", {}, "User", el("input", {name: "user", value: params.get("user") || ""})),
    el("label", {}, "State", el("select", {name: "state"}, el("option", {value: ""}, "all"),
      ["pending", "running", "completed", "failed", "killed", "preempted"].map((s) =>
        el("option", {value: s, selected: params.get("state") === s ? "" : null}, s)))),
    el("button", {}, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) next.set(key, value);
    location.hash = "jobs?" + next;
  });
  const offset = Number(params.get("offset") || 0);
  const pager = (delta, label) => el("button", {disabled: offset + delta < 0 ||
    offset + delta >= result.total ? "" : null, onclick: () => {
      params.set("offset", offset + delta); location.hash = "jobs?" + params; }}, label);
  page.append(el("h2", {}, "Jobs"), form,
    el("p", {}, `${result.total.toLocaleString()} jobs; showing ${offset + 1}–` +
                `${offset + result.jobs.length} `, pager(-50, "Previous"), " ", pager(50, "Next")),
    table(["Job", "Project", "User", "State", "GPUs", "Submitted", "Started", "Ended",
           "Why it waits / where it runs", "GPU util (avg/peak)", "GPU memory peak"],
      result.jobs.map((j) => el("tr", {"data-state": j.state},
        el("td", {}, j.name || j.id), el("td", {}, j.project), el("td", {}, j.user),
        el("td", {}, j.state), el("td", {class: "num"}, num(j.gpus, 3)),
        el("td", {}, when(j.submit)), el("td", {}, when(j.start)), el("td", {}, when(j.end)),
        el("td", {}, j.state === "pending" ? j.reason : j.nodes.join(", ")),
        el("td", {class: "num"}, j.gpu_util === null ? "–" :
                                  pct(j.gpu_util) + " / " + pct(j.gpu_util_peak)),
        el("td", {class: "num"}, j.gpu_mem_peak_mib === null ? "–" :
                                  num(j.gpu_mem_peak_mib, 0) + " MiB")))));
}

// -- nodes ---------------------------------------------------------------------------
async function nodesPage(page) {
  const nodes = await api("/api/nodes");
  const gpus = nodes.reduce((n, node) => n + node.gpus, 0);
  const used = nodes.reduce((n, node) => n + node.allocated.reduce((a, b) => a + b, 0), 0);
  const fragmented = nodes.reduce((n, node) => n + node.fragmented_gpus, 0);
  page.append(el("h2", {}, "Nodes and GPUs"), el("p", {},
    `${nodes.length} nodes, ${gpus} GPUs, ${num(used)} allocated (${pct(gpus ? used / gpus : 0)}),` +
    ` ${num(fragmented, 2)} GPUs free only in part-used GPUs; ` +
    `${nodes.reduce((n, node) => n + node.unhealthy.length, 0)} unhealthy.`));
  const widest = Math.max(1, ...nodes.map((n) => n.gpus)), cell = 16, columns = 4;
  const perColumn = Math.ceil(nodes.length / columns), labelWidth = 90;
  const columnWidth = labelWidth + widest * cell + 20;
  const svg = el("svg:svg", {width: columns * columnWidth, height: perColumn * cell + 10,
                             class: "chart", id: "heatmap", role: "img",
                             "aria-label": "GPU allocation per node"});
  nodes.forEach((node, i) => {
    const x0 = Math.floor(i / perColumn) * columnWidth, y0 = (i % perColumn) * cell + 5;
    svg.append(el("svg:text", {x: x0 + 4, y: y0 + 12, "font-size": 11,
                               fill: node.schedulable ? "#1d2430" : "#b00020"}, node.name));
    node.allocated.forEach((share, g) => {
      const bad = node.unhealthy.includes(g);
      const util = node.utilisation[g];
      svg.append(el("svg:rect", {x: x0 + labelWidth + g * cell, y: y0, width: cell - 2,
        height: cell - 2, fill: bad ? "#b00020" :
          `rgba(63,143,232,${0.12 + 0.88 * share})`, stroke: share > 0 && share < 1 ?
          "#e8743f" : "none"},
        el("svg:title", {}, `${node.name} GPU ${g}: ${pct(share)} allocated` +
          (util === null ? "" : `, ${pct(util)} utilised`) + (bad ? ", unhealthy" : ""))));
    });
  });
  page.append(svg, el("p", {class: "muted"}, "Darker: more allocated; orange outline: a " +
    "part-used GPU (fragment); red: unhealthy GPU or unschedulable node."));
}

// -- datasets ------------------------------------------------------------------------
async function datasetsPage(page) {
  const rows = await api("/api/datasets");
  const bar = (share) => share === null ? "–" :
    el("span", {}, el("span", {class: "bar", style: `width:${Math.round(share * 80)}px`}),
       " " + pct(share));
  page.append(el("h2", {}, "Training-data caches"), rows.length ? table(
    ["Cache", "Dataset", "Cached", "Of dataset", "Hit ratio (reads)", "Hit ratio (bytes)"],
    rows.map((r) => el("tr", {}, el("td", {}, r.cache), el("td", {}, r.dataset),
      el("td", {class: "num"}, num(r.cached_bytes / 2 ** 30, 2) + " GiB"),
      el("td", {}, bar(r.cached_share)), el("td", {}, bar(r.hit_ratio)),
      el("td", {}, bar(r.byte_hit_ratio))))) :
    el("p", {class: "muted"}, "No cache statistics given (corral serve --cache-stats)."));
}

// -- runs ----------------------------------------------------------------------------
const RUN_KEYS = ["policy", "cluster", "load", "jobs", "avg_jct", "p95_jct", "avg_queue_delay",
                  "makespan", "gpu_alloc_rate", "frag_rate", "preemptions", "jain_fairness"];

async function runsPage(page) {
  const runs = await api("/api/runs");
  const chosen = new Set(runs.slice(0, 3).map((r) => r.path));
  const side = el("div", {id: "side-by-side"}), report = el("div");
  const drawSide = () => {
    const picked = runs.filter((r) => chosen.has(r.path));
    side.replaceChildren(table(["", ...picked.map((r) => r.path)], RUN_KEYS.map((key) =>
      el("tr", {}, el("th", {}, key), picked.map((r) => el("td", {class: "num"},
        typeof r.summary[key] === "number" ? num(r.summary[key], 3) : r.summary[key] ?? "–"))))));
  };
  const showReport = async (path) => {
    const html = await api("/api/runs/report?path=" + encodeURIComponent(path));
    report.replaceChildren(el("h2", {}, path), el("iframe", {sandbox: "", srcdoc: html}));
  };
  page.append(el("h2", {}, "Simulation runs"), runs.length ? table(["", "Run", "Policy", "Jobs",
    "Avg JCT (s)", "Report"], runs.map((r) => el("tr", {},
      el("td", {}, el("input", {type: "checkbox", checked: chosen.has(r.path) ? "" : null,
        onchange: (event) => { event.target.checked ? chosen.add(r.path) : chosen.delete(r.path);
                               drawSide(); }})),
      el("td", {}, r.path), el("td", {}, r.summary.policy ?? "–"),
      el("td", {class: "num"}, r.summary.jobs ?? "–"),
      el("td", {class: "num"}, num(r.summary.avg_jct, 0)),
      el("td", {}, r.report ? el("button", {onclick: () => showReport(r.report)}, "Open") : "–"))))
    : el("p", {class: "muted"}, "No runs found (corral serve --runs DIR)."),
    el("h2", {}, "Side by side"), side, report);
  drawSide();
}

// -- routing -------------------------------------------------------------------------
const PAGES = {projects: projectsPage, usage: usagePage, jobs: jobsPage, nodes: nodesPage,
               datasets: datasetsPage, runs: runsPage};

async function route() {
  const [name, query] = (location.hash.slice(1) || "projects").split("?");
  const draw = PAGES[name] || projectsPage;
  for (const link of document.querySelectorAll("header nav a"))
    link.classList.toggle("active", link.getAttribute("href") === "#" + name);
  const page = document.getElementById("page");
  try {
    me = me || await api("/api/me");
    document.getElementById("who").textContent =
      `${me.name}${me.admin ? " (admin)" : ""} · ${me.mode}`;
    const fresh = el("div", {id: "page-" + name});
    await draw(fresh, new URLSearchParams(query || ""));
    page.replaceChildren(fresh);
  } catch (error) {
    if (error.message !== "401") page.replaceChildren(el("p", {class: "error"}, error.message));
  }
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("corral-token", document.getElementById("token").value);
  document.getElementById("login").hidden = true;
  me = null;
  route();
});
window.addEventListener("hashchange", route);
route();
