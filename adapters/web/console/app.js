// The Treaty console: a hash-routed single page over treaty-web's JSON API
// (/api/v1, the gRPC messages in protobuf's JSON mapping: 64-bit numbers
// arrive as strings, enums as their names). Pages: instances, an
// instance (diagram, history, data; live from the events stream), the
// task inbox and a task's form, incidents and jobs, definitions, the node.
// Plain browser JavaScript, no framework; the task form is form.js.
//
// Elements a test or a person's script relies on carry ids or data-test
// attributes; the page root carries data-page and, on pages that refresh,
// data-refreshes (how many refreshes completed).
(function () {
  'use strict';

  // ------------------------------------------------------------ helpers

  // h('a', {href: '#/x', class: 'y'}, 'text', child, [more]) builds an element.
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'value') e.value = v;
      else if (k === 'checked') e.checked = Boolean(v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    append(e, children);
    return e;
  }
  function append(parent, ...children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return parent;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function replace(e, ...children) { return append(clear(e), children); }

  const enc = encodeURIComponent;
  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
    const s = u.toString();
    return s ? '?' + s : '';
  }
  function num(v) { return v === undefined || v === null || v === '' ? 0 : Number(v); }
  function time(ms) {
    const n = num(ms);
    if (!n) return '';
    const d = new Date(n);
    const p = (x) => String(x).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  function ago(ms) {
    const s = Math.round(num(ms) / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.round(s / 60) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }
  function short(hash, n) { return hash ? String(hash).slice(0, n || 12) : ''; }
  function pretty(jsonText) {
    if (!jsonText) return '{}';
    try { return JSON.stringify(JSON.parse(jsonText), null, 2); } catch (e) { return jsonText; }
  }
  // TASK_CLAIMED → claimed, JOB_INCIDENT → incident.
  function enumName(v) { return String(v || '').replace(/^(TASK_|JOB_|TASK_ORDER_)/, '').toLowerCase(); }
  function badge(text, cls, attrs) { return h('span', Object.assign({ class: 'badge ' + (cls || '') }, attrs || {}), text); }
  function stateBadges(states) { return (states || []).map((s) => badge(s, 'state', { 'data-test': 'state' })); }
  function instanceLink(id) { return h('a', { href: '#/instances/' + enc(id), 'data-test': 'instance-link' }, id); }
  function errorText(err) { return err ? (err.code ? err.code + ': ' : '') + (err.message || '') : ''; }

  // ------------------------------------------------------------ API

  // Calls treaty-web. Resolves to {ok, status, data} or {ok: false, status,
  // error: {code, message}, data}; never rejects.
  async function api(method, path, body) {
    const opts = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch('/api/v1' + path, opts);
    } catch (e) {
      return { ok: false, status: 0, error: { code: 'UNREACHABLE', message: 'treaty-web did not answer: ' + e.message } };
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (res.ok) return { ok: true, status: res.status, data: data || {} };
    const error = data && data.error ? data.error : { code: 'HTTP_' + res.status, message: text || res.statusText };
    return { ok: false, status: res.status, error, data };
  }
  const get = (path) => api('GET', path);
  const post = (path, body) => api('POST', path, body === undefined ? {} : body);

  // Fetches an SVG and returns it as an element of this document, scripts
  // and event attributes removed (the SVG is the server's, its labels the
  // definition's texts).
  async function fetchSvg(url) {
    let res;
    try { res = await fetch(url); } catch (e) { return { error: 'treaty-web did not answer: ' + e.message }; }
    const text = await res.text();
    if (!res.ok) {
      let msg = text;
      try { msg = JSON.parse(text).error.message; } catch (e) { /* plain text */ }
      return { error: `diagram: HTTP ${res.status} ${msg}` };
    }
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== 'svg') return { error: 'diagram: the server sent no SVG' };
    svg.querySelectorAll('script, foreignObject').forEach((n) => n.remove());
    svg.querySelectorAll('*').forEach((n) => {
      for (const a of Array.from(n.attributes)) if (/^on/i.test(a.name)) n.removeAttribute(a.name);
    });
    return { svg: document.importNode(svg, true) };
  }

  // Marks the diagram's nodes of the active states (Graphviz titles each
  // node's group with the state's name; instance states are paths, the
  // diagram's nodes leaf names). The server highlights them too; marking
  // here makes the highlight independent of its styling and lets a test
  // read it (g.node.active).
  function markActive(container, states) {
    const leaves = new Set((states || []).flatMap((s) => [s, s.split(/[./]/).pop()]));
    container.querySelectorAll('g.node').forEach((g) => {
      const t = g.querySelector('title');
      const on = Boolean(t && leaves.has(t.textContent.trim()));
      g.classList.toggle('active', on);
      if (on) g.setAttribute('data-active', 'true'); else g.removeAttribute('data-active');
    });
    container.setAttribute('data-states', (states || []).join(','));
  }

  // ------------------------------------------------------------ me, party

  const ME_KEY = 'treaty.console.me';
  const meInput = document.getElementById('me');
  meInput.value = localStorage.getItem(ME_KEY) || 'clerk';
  meInput.addEventListener('change', () => localStorage.setItem(ME_KEY, meInput.value.trim()));
  function me() { return meInput.value.trim(); }

  async function loadParty() {
    const r = await get('/status');
    const el = document.getElementById('party');
    if (r.ok) {
      el.textContent = 'party ' + r.data.party;
      el.setAttribute('data-party', r.data.party);
      document.title = 'Treaty · ' + r.data.party;
    } else {
      el.textContent = 'node unreachable';
    }
  }

  // ------------------------------------------------------------ router

  const view = document.getElementById('view');
  let cleanups = [];
  // Registers what to stop (event sources, timers) when the page is left.
  function onLeave(fn) { cleanups.push(fn); }

  const routes = [
    [/^\/instances$/, pageInstances, 'instances'],
    [/^\/instances\/(.+)$/, pageInstance, 'instances'],
    [/^\/tasks$/, pageTasks, 'tasks'],
    [/^\/tasks\/(.+)$/, pageTask, 'tasks'],
    [/^\/incidents$/, pageIncidents, 'incidents'],
    [/^\/definitions$/, pageDefinitions, 'definitions'],
    [/^\/definitions\/([^/]+)$/, pageDefinition, 'definitions'],
    [/^\/node$/, pageNode, 'node'],
  ];

  function route() {
    for (const fn of cleanups) { try { fn(); } catch (e) { /* already stopped */ } }
    cleanups = [];
    const hash = location.hash.replace(/^#/, '') || '/instances';
    const qi = hash.indexOf('?');
    const path = qi < 0 ? hash : hash.slice(0, qi);
    const query = new URLSearchParams(qi < 0 ? '' : hash.slice(qi + 1));
    for (const [re, page, nav] of routes) {
      const m = path.match(re);
      if (!m) continue;
      document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('current', a.dataset.nav === nav));
      // A fresh root per visit: a slow answer of the page left behind
      // writes into a detached element, never into this one.
      const root = h('div', { class: 'page', 'data-page': page.name.replace(/^page/, '').toLowerCase() });
      replace(view, root);
      page(root, m.slice(1).map(decodeURIComponent), query).catch((e) => {
        append(root, h('div', { class: 'error-box', 'data-test': 'page-error' }, 'The page failed: ' + e.message));
      });
      return;
    }
    replace(view, h('div', { class: 'page', 'data-page': 'unknown' }, h('h1', {}, 'Not found'),
      h('p', {}, 'No page at ', h('code', {}, path), '. ', h('a', { href: '#/instances' }, 'Instances'))));
  }
  function go(path, params) { location.hash = '#' + path + (params ? qs(params) : ''); }

  // ------------------------------------------------------------ instances

  async function definitionNames() {
    const r = await get('/definitions');
    if (!r.ok) return [];
    return [...new Set((r.data.definitions || []).map((d) => d.name))].sort();
  }

  async function pageInstances(root, _args, q) {
    const f = {
      definition: q.get('definition') || '', state: q.get('state') || '', where: q.get('where') || '',
      order_by: q.get('order_by') || '', page_size: q.get('page_size') || '25', page_token: q.get('page_token') || '',
    };
    const pageNo = Number(q.get('page') || '1');
    const defSelect = h('select', { name: 'definition', 'data-test': 'filter-definition' }, h('option', { value: '' }, 'any'));
    const form = h('form', { class: 'filters', id: 'instance-filters' },
      h('label', {}, 'definition', defSelect),
      h('label', {}, 'state', h('input', { name: 'state', value: f.state, placeholder: 'path or leaf', 'data-test': 'filter-state' })),
      h('label', {}, 'where', h('input', { name: 'where', value: f.where, placeholder: 'data.total > 1000', 'data-test': 'filter-where' })),
      h('label', {}, 'order', h('select', { name: 'order_by' },
        ['', 'created desc', 'updated', 'updated desc', 'id'].map((o) => h('option', { value: o }, o || 'created')))),
      h('label', {}, 'per page', h('select', { name: 'page_size' }, ['10', '25', '50', '100'].map((n) => h('option', { value: n }, n)))),
      h('button', { type: 'submit', id: 'instances-search', 'data-test': 'instances-search' }, 'Search'));
    form.order_by.value = f.order_by;
    form.page_size.value = f.page_size;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      go('/instances', { definition: form.definition.value, state: form.state.value.trim(), where: form.where.value.trim(),
        order_by: form.order_by.value, page_size: form.page_size.value });
    });
    const err = h('div', { class: 'error-box', id: 'instances-error', 'data-test': 'instances-error' });
    const body = h('tbody', {}, h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'loading…')));
    const pager = h('div', { class: 'pager' });
    append(root, h('h1', {}, 'Instances'), form, err,
      h('table', { id: 'instances-table', 'data-test': 'instances-table' },
        h('thead', {}, h('tr', {}, ['instance', 'definition', 'states', 'position', 'data', 'updated', 'height'].map((t) => h('th', {}, t)))),
        body), pager);

    definitionNames().then((names) => {
      for (const n of names) defSelect.appendChild(h('option', { value: n }, n));
      defSelect.value = f.definition;
    });
    const r = await get('/instances' + qs(f));
    if (!r.ok) {
      err.textContent = errorText(r.error);
      replace(body, h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'no answer')));
      return;
    }
    const list = r.data.instances || [];
    replace(body, list.length ? list.map((i) => h('tr', { 'data-instance-id': i.instance_id },
      h('td', {}, instanceLink(i.instance_id)),
      h('td', {}, `${i.definition} v${i.version}`),
      h('td', {}, stateBadges(i.states), i.final ? badge('final', 'ok') : null),
      h('td', {}, i.position),
      h('td', { class: 'mono' }, summary(i.data_json)),
      h('td', {}, time(i.updated_ms)),
      h('td', {}, i.ledger_height))) : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'no instances match')));
    append(pager,
      pageNo > 1 ? h('a', { href: '#/instances' + qs(Object.assign({}, f, { page_token: '', page: '' })) }, '« first page') : null,
      h('span', { class: 'sub' }, `page ${pageNo}`),
      r.data.next_page_token ? h('a', { id: 'instances-next', 'data-test': 'instances-next',
        href: '#/instances' + qs(Object.assign({}, f, { page_token: r.data.next_page_token, page: pageNo + 1 })) }, 'next page »') : null);
  }

  // The first few fields of an instance's data, for a list.
  function summary(dataJson) {
    let d;
    try { d = JSON.parse(dataJson || '{}'); } catch (e) { return ''; }
    const parts = Object.entries(d).slice(0, 3).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
    const s = parts.join(' ');
    return s.length > 80 ? s.slice(0, 77) + '…' : s;
  }

  // ------------------------------------------------------------ instance

  const EVENT_TYPES = ['step_confirmed', 'step_rejected', 'instance_started', 'instance_completed', 'instance_blocked',
    'instance_unblocked', 'task_opened', 'task_claimed', 'task_unclaimed', 'task_assigned', 'task_updated',
    'task_completion_rejected', 'task_completed', 'task_cancelled', 'task_overdue', 'job_opened', 'job_activated',
    'job_completed', 'job_failed', 'job_error_thrown', 'job_cancelled', 'job_timed_out', 'job_yielded',
    'job_retries_updated', 'job_timeout_updated', 'incident_raised', 'incident_resolved'];

  async function pageInstance(root, [id]) {
    root.setAttribute('data-instance-id', id);
    root.setAttribute('data-refreshes', '0');
    const live = h('span', { class: 'live', id: 'live-status', 'data-test': 'live-status' }, 'connecting');
    const head = h('div', { class: 'card', id: 'instance-head' });
    const diagram = h('div', { class: 'diagram', id: 'diagram', 'data-test': 'diagram' }, 'loading…');
    const data = h('pre', { id: 'instance-data', 'data-test': 'instance-data' });
    const tasks = h('div', { id: 'instance-tasks' });
    const history = h('tbody', {});
    const events = h('ul', { id: 'events-log', class: 'sub', 'data-test': 'events-log' });
    const err = h('div', { class: 'error-box', id: 'instance-error', 'data-test': 'instance-error' });
    append(root,
      h('h1', {}, 'Instance ', h('span', { class: 'mono' }, id), ' ', live),
      err, head,
      h('div', { class: 'grid2' },
        h('div', {}, h('h2', {}, 'Diagram'), diagram),
        h('div', {}, h('h2', {}, 'Open tasks here'), tasks,
          h('h2', {}, 'Data this party sees'), data,
          h('h2', {}, 'Live events'), events)),
      h('h2', {}, 'History'),
      h('div', { class: 'scroll' }, h('table', { id: 'history', 'data-test': 'history' },
        h('thead', {}, h('tr', {}, ['#', 'step', 'proposer', 'outcome', 'height', 'applied', 'states after', 'state hash', 'attestations']
          .map((t) => h('th', {}, t)))), history)));

    let running = false, again = false, count = 0;
    async function refresh() {
      if (running) { again = true; return; }
      running = true;
      try {
        do {
          again = false;
          await refreshOnce();
        } while (again);
      } finally {
        running = false;
      }
    }
    async function refreshOnce() {
      const [ri, rh, rt, svg] = await Promise.all([
        get('/instances/' + enc(id)), get('/instances/' + enc(id) + '/history'),
        get('/tasks' + qs({ instance_id: id, states: 'TASK_OPEN,TASK_CLAIMED' })),
        fetchSvg('/api/v1/instances/' + enc(id) + '/diagram.svg')]);
      if (!ri.ok) {
        err.textContent = errorText(ri.error);
        return;
      }
      err.textContent = '';
      const inst = ri.data;
      renderHead(head, inst);
      if (svg.svg) replace(diagram, svg.svg); else replace(diagram, h('div', { class: 'error-box' }, svg.error));
      markActive(diagram, inst.states);
      diagram.setAttribute('data-position', inst.position);
      data.textContent = pretty(inst.data_json);
      if (rh.ok) renderHistory(history, rh.data.entries || []);
      if (rt.ok) {
        const list = rt.data.tasks || [];
        replace(tasks, list.length ? h('ul', {}, list.map((t) => h('li', { 'data-task-id': t.task_id },
          h('a', { href: '#/tasks/' + enc(t.task_id), 'data-test': 'task-link' }, t.step_label || t.step), ' ',
          badge(enumName(t.state), t.state), t.assignee ? ' ' + t.assignee : '', ' ', h('span', { class: 'sub' }, t.queue))))
          : h('p', { class: 'sub' }, 'none at this node'));
      }
      count += 1;
      root.setAttribute('data-refreshes', String(count));
    }

    // The events of this instance: each one refreshes the page in place.
    // Subscribed from now and refreshed when the stream opens, so a step
    // applied between the first read and the subscription is not missed.
    const source = new EventSource('/api/v1/events' + qs({ instance_id: id, from_now: 'true' }));
    onLeave(() => source.close());
    source.onopen = () => { live.textContent = 'live'; live.className = 'live on'; refresh(); };
    source.onerror = () => { live.textContent = 'reconnecting'; live.className = 'live off'; };
    const onEvent = (ev) => {
      let e = {};
      try { e = JSON.parse(ev.data); } catch (x) { e = {}; }
      const type = e.type || ev.type;
      events.insertBefore(h('li', { 'data-type': type }, `${time(e.time_ms) || time(Date.now())} ${type}${e.step ? ' ' + e.step : ''}` +
        (num(e.ledger_height) ? ` @${e.ledger_height}` : '')), events.firstChild);
      while (events.children.length > 12) events.removeChild(events.lastChild);
      refresh();
    };
    source.onmessage = onEvent;
    for (const t of EVENT_TYPES) source.addEventListener(t, onEvent);
    await refresh();
  }

  function renderHead(head, i) {
    const roles = (i.roles || []).map((r) => `${r.role}=${r.party}`).join(', ');
    replace(head, h('dl', { class: 'kv' },
      h('dt', {}, 'definition'), h('dd', {}, h('a', { href: '#/definitions/' + enc(i.definition) + qs({ version: i.version }) }, `${i.definition} v${i.version}`)),
      h('dt', {}, 'states'), h('dd', { id: 'instance-states', 'data-test': 'instance-states', 'data-states': (i.states || []).join(',') },
        stateBadges(i.states), i.final ? badge('final', 'ok') : null),
      h('dt', {}, 'position'), h('dd', { id: 'instance-position' }, `${i.position} steps applied, last at height ${i.ledger_height}`),
      h('dt', {}, 'roles'), h('dd', {}, roles),
      h('dt', {}, 'state hash'), h('dd', { class: 'hash', id: 'instance-state-hash' }, i.state_hash),
      h('dt', {}, 'definition hash'), h('dd', { class: 'hash' }, i.definition_hash),
      h('dt', {}, 'created · updated'), h('dd', {}, `${time(i.created_ms)} · ${time(i.updated_ms)}`)));
  }

  function renderHistory(tbody, entries) {
    replace(tbody, entries.length ? entries.map((e) => h('tr', { 'data-step': e.step, 'data-outcome': e.outcome, 'data-seq': e.seq },
      h('td', {}, e.seq),
      h('td', {}, h('strong', {}, e.step), e.input_json && e.input_json !== '{}' ? h('div', { class: 'mono sub' }, e.input_json) : null),
      h('td', {}, e.proposer),
      h('td', {}, badge(e.outcome, e.outcome), e.reason ? h('div', { class: 'sub', 'data-test': 'reason' }, (e.reject_code ? e.reject_code + ': ' : '') + e.reason) : null),
      h('td', {}, e.ledger_height),
      h('td', {}, time(e.applied_ms)),
      h('td', {}, stateBadges(e.states_after)),
      h('td', { class: 'hash', title: e.state_hash }, short(e.state_hash)),
      h('td', {}, (e.attestations || []).map((a) => h('div', {
        class: 'att ' + (a.matches ? 'match' : 'mismatch'), 'data-party': a.party,
        title: `${a.outcome} ${a.state_hash}${a.signature ? ' ' + a.signature : ' (this node)'}${a.reason ? ' ' + a.reason : ''}`,
      }, `${a.party} ${a.outcome === 'CONFIRMED' ? '' : a.outcome + ' '}${short(a.state_hash, 8)}`))))) :
      h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'no history')));
  }

  // ------------------------------------------------------------ tasks

  const TASK_STATE_CHOICES = [
    ['active', 'open or claimed', 'TASK_OPEN,TASK_CLAIMED'], ['open', 'open (nobody)', 'TASK_OPEN'],
    ['claimed', 'claimed', 'TASK_CLAIMED'], ['completed', 'completed', 'TASK_COMPLETED'],
    ['cancelled', 'cancelled', 'TASK_CANCELLED'], ['any', 'any', ''],
  ];

  async function pageTasks(root, _args, q) {
    const f = {
      queue: q.get('queue') || '', assignee: q.get('assignee') || '', state: q.get('state') || 'active',
      candidate_group: q.get('candidate_group') || '', definition: q.get('definition') || '',
      instance_id: q.get('instance_id') || '', priority_min: q.get('priority_min') || '',
      due_before: q.get('due_before') || '', order: q.get('order') || 'created', desc: q.get('desc') || '',
      page_token: q.get('page_token') || '',
    };
    const pageNo = Number(q.get('page') || '1');
    const input = (name, ph, extra) => h('input', Object.assign({ name, value: f[name], placeholder: ph, 'data-test': 'filter-' + name, size: 14 }, extra || {}));
    const dueValue = f.due_before ? new Date(Number(f.due_before)).toISOString().slice(0, 16) : '';
    const form = h('form', { class: 'filters', id: 'task-filters' },
      h('label', {}, 'queue', input('queue', 'sales-approvals')),
      h('label', {}, 'assignee', input('assignee', 'anyone')),
      h('label', {}, 'state', h('select', { name: 'state', 'data-test': 'filter-state' },
        TASK_STATE_CHOICES.map(([v, t]) => h('option', { value: v }, t)))),
      h('label', {}, 'group', input('candidate_group', 'any')),
      h('label', {}, 'definition', input('definition', 'any')),
      h('label', {}, 'instance', input('instance_id', 'any')),
      h('label', {}, 'priority ≥', input('priority_min', '0', { size: 4 })),
      h('label', {}, 'due before', h('input', { name: 'due_before', type: 'datetime-local', value: dueValue })),
      h('label', {}, 'order', h('select', { name: 'order' }, ['created', 'due', 'priority'].map((o) => h('option', { value: o }, o)))),
      h('label', {}, 'newest first', h('input', { type: 'checkbox', name: 'desc', checked: f.desc === 'true' })),
      h('button', { type: 'submit', id: 'tasks-search', 'data-test': 'tasks-search' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', id: 'tasks-mine', onclick: () => go('/tasks', { assignee: me(), state: 'claimed' }) }, 'Mine'));
    form.state.value = f.state;
    form.order.value = f.order;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const due = form.due_before.value ? String(new Date(form.due_before.value).getTime()) : '';
      go('/tasks', { queue: form.queue.value.trim(), assignee: form.assignee.value.trim(), state: form.state.value,
        candidate_group: form.candidate_group.value.trim(), definition: form.definition.value.trim(),
        instance_id: form.instance_id.value.trim(), priority_min: form.priority_min.value.trim(), due_before: due,
        order: form.order.value, desc: form.desc.checked ? 'true' : '' });
    });
    const err = h('div', { class: 'error-box', id: 'tasks-error', 'data-test': 'tasks-error' });
    const body = h('tbody', {}, h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'loading…')));
    const pager = h('div', { class: 'pager' });
    append(root, h('h1', {}, 'Task inbox'), form, err,
      h('table', { id: 'tasks-table', 'data-test': 'tasks-table' },
        h('thead', {}, h('tr', {}, ['task', 'instance', 'queue', 'state', 'assignee', 'priority', 'due', 'created', ''].map((t) => h('th', {}, t)))),
        body), pager);

    const states = (TASK_STATE_CHOICES.find((c) => c[0] === f.state) || TASK_STATE_CHOICES[0])[2];
    const orders = { created: 'TASK_ORDER_CREATED', due: 'TASK_ORDER_DUE', priority: 'TASK_ORDER_PRIORITY' };
    const req = {
      queue: f.queue, assignee: f.assignee, states, candidate_group: f.candidate_group, definition: f.definition,
      instance_id: f.instance_id, priority_min: f.priority_min, due_before: f.due_before,
      order_by: f.order !== 'created' ? orders[f.order] : '', descending: f.desc === 'true' ? 'true' : '',
      page_size: 50, page_token: f.page_token,
    };
    async function load() {
      const r = await get('/tasks' + qs(req));
      if (!r.ok) {
        err.textContent = errorText(r.error);
        replace(body, h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'no answer')));
        return;
      }
      err.textContent = '';
      const list = r.data.tasks || [];
      replace(body, list.length ? list.map((t) => taskRow(t, load, err)) : h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'no tasks match')));
      clear(pager);
      append(pager,
        pageNo > 1 ? h('a', { href: '#/tasks' + qs(Object.assign({}, f, { page_token: '', page: '' })) }, '« first page') : null,
        h('span', { class: 'sub' }, `page ${pageNo}`),
        r.data.next_page_token ? h('a', { id: 'tasks-next', href: '#/tasks' + qs(Object.assign({}, f, { page_token: r.data.next_page_token, page: pageNo + 1 })) }, 'next page »') : null);
    }
    // The inbox follows the node: task events reload it.
    const source = new EventSource('/api/v1/events' + qs({ from_now: 'true',
      types: 'task_opened,task_claimed,task_unclaimed,task_assigned,task_updated,task_completed,task_cancelled,task_overdue' }));
    onLeave(() => source.close());
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(load, 150); };
    onLeave(() => clearTimeout(timer));
    for (const t of EVENT_TYPES) if (t.startsWith('task_')) source.addEventListener(t, soon);
    source.onmessage = soon;
    await load();
  }

  function due(t) {
    if (t.due_ms === undefined || t.due_ms === null) return '';
    return [time(t.due_ms), t.overdue ? ' ' : '', t.overdue ? badge('overdue', 'overdue') : null];
  }

  function taskRow(t, reload, err) {
    const open = t.state === 'TASK_OPEN', claimed = t.state === 'TASK_CLAIMED';
    const act = async (path, body) => {
      const r = await post('/tasks/' + enc(t.task_id) + path, body);
      if (!r.ok) err.textContent = errorText(r.error); else err.textContent = '';
      reload();
    };
    return h('tr', { 'data-task-id': t.task_id, 'data-step': t.step, 'data-state': t.state },
      h('td', {}, h('a', { href: '#/tasks/' + enc(t.task_id), 'data-test': 'task-link' }, t.step_label || t.step),
        h('div', { class: 'sub mono' }, t.task_id)),
      h('td', {}, instanceLink(t.instance_id), h('div', { class: 'sub' }, `${t.definition} v${t.version}`)),
      h('td', {}, t.queue),
      h('td', {}, badge(enumName(t.state), t.state)),
      h('td', {}, t.assignee || h('span', { class: 'sub' }, 'nobody')),
      h('td', {}, t.priority),
      h('td', {}, due(t)),
      h('td', {}, time(t.created_ms)),
      h('td', {}, h('div', { class: 'actions' },
        open ? h('button', { class: 'secondary', 'data-test': 'row-claim', onclick: () => act('/claim', { assignee: me() }) }, 'Claim') : null,
        claimed ? h('button', { class: 'secondary', 'data-test': 'row-unclaim', onclick: () => act('/unclaim') }, 'Unclaim') : null)));
  }

  async function pageTask(root, [taskId]) {
    root.setAttribute('data-task-id', taskId);
    const err = h('div', { class: 'error-box', id: 'task-error', 'data-test': 'task-error' });
    const head = h('div', { class: 'card', id: 'task-head' }, 'loading…');
    const formCard = h('div', { class: 'card', id: 'task-form-card' });
    const data = h('pre', { id: 'task-data', 'data-test': 'task-data' });
    append(root, h('h1', {}, 'Task ', h('span', { class: 'mono' }, taskId)), err,
      h('div', { class: 'grid2' }, h('div', {}, head, formCard), h('div', {}, h('h2', {}, 'Data this party sees'), data)));

    let formHandle = null;
    async function load(keepForm) {
      const r = await get('/tasks/' + enc(taskId));
      if (!r.ok) { err.textContent = errorText(r.error); return null; }
      err.textContent = '';
      const g = r.data, t = g.task || {};
      root.setAttribute('data-state', t.state);
      renderTaskHead(head, g, load, err);
      data.textContent = g.instance ? pretty(g.instance.data_json) : '';
      if (!keepForm || !formHandle) renderForm(g);
      else setFormEnabled(t);
      return g;
    }
    function setFormEnabled(t) {
      const active = t.state === 'TASK_OPEN' || t.state === 'TASK_CLAIMED';
      formCard.querySelectorAll('input, select, textarea, button').forEach((e) => { e.disabled = !active; });
    }
    function renderForm(g) {
      const t = g.task || {};
      clear(formCard);
      const form = h('form', { class: 'task-form', id: 'task-form', 'data-test': 'task-form', novalidate: true, 'data-proposed': 'false' });
      formHandle = TreatyForm.build(form, g.input_schema_json, g.form_json);
      if (!formHandle.fields.length) form.appendChild(h('p', { class: 'sub', id: 'form-no-input' }, 'This step takes no input.'));
      const formError = h('div', { class: 'error-box', id: 'form-error', 'data-test': 'form-error', role: 'alert' });
      const formResult = h('div', { class: 'ok-box', id: 'form-result', 'data-test': 'form-result' });
      const submit = h('button', { type: 'submit', id: 'task-complete', 'data-test': 'task-complete' }, 'Complete');
      append(form, h('div', { class: 'actions' }, submit), formError, formResult);
      if (!form.querySelector('#form-title')) form.insertBefore(h('h2', { id: 'form-title' }, t.step_label || t.step), form.firstChild);
      if (g.step_description && !formHandle.texts.description && !formHandle.schema.description)
        form.insertBefore(h('p', { class: 'sub' }, g.step_description), form.children[1] || null);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        formError.textContent = '';
        formError.removeAttribute('data-code');
        formResult.textContent = '';
        const read = TreatyForm.read(formHandle);
        TreatyForm.showErrors(formHandle, read.errors);
        form.setAttribute('data-invalid', String(Object.keys(read.errors).length));
        if (read.json === null) {
          formError.textContent = 'Fix the fields marked above; nothing was proposed.';
          formError.setAttribute('data-code', 'CLIENT_VALIDATION');
          return;
        }
        submit.disabled = true;
        submit.textContent = 'Proposing…';
        const body = { input_json: read.json };
        if (me()) body.assignee = me();
        const r = await post('/tasks/' + enc(taskId) + '/complete', body);
        form.setAttribute('data-proposed', 'true');
        submit.textContent = 'Complete';
        submit.disabled = false;
        if (r.ok) {
          const c = r.data;
          formResult.textContent = `${enumName(c.outcome) || 'done'}: the step ${t.step} was applied at height ${c.ledger_height}; ` +
            `the instance is now in ${((c.instance || {}).states || []).join(', ')}.`;
          formResult.setAttribute('data-outcome', c.outcome || '');
          await load(true);
          return;
        }
        const e = r.error || {};
        formError.setAttribute('data-code', e.code || '');
        formError.setAttribute('data-status', String(r.status));
        const rejected = e.code === 'REJECTED' || r.status === 412 || r.status === 409;
        formError.textContent = (rejected ? 'Rejected: ' : `Refused (${r.status} ${e.code || ''}): `) + (e.message || '');
        // The node names the field of a schema error; put it there too.
        if (r.status === 400) {
          const errors = {};
          for (const f of formHandle.fields) {
            const re = new RegExp(`(input\\.|['"\`])${f.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
            if (re.test(e.message || '')) errors[f.name] = e.message;
          }
          if (Object.keys(errors).length) TreatyForm.showErrors(formHandle, errors);
        }
        await load(true);
      });
      formCard.appendChild(form);
      setFormEnabled(t);
    }
    await load(false);
  }

  function renderTaskHead(head, g, reload, err) {
    const t = g.task || {};
    const open = t.state === 'TASK_OPEN', claimed = t.state === 'TASK_CLAIMED';
    const actionErr = h('div', { class: 'error-box', id: 'task-action-error', 'data-test': 'task-action-error' });
    const act = async (path, body) => {
      const r = await post('/tasks/' + enc(t.task_id) + path, body);
      if (!r.ok) { actionErr.textContent = errorText(r.error); return; }
      err.textContent = '';
      await reload(true);
    };
    const candidates = [...(t.candidate_groups || []).map((g2) => 'group ' + g2), ...(t.candidate_users || []).map((u) => 'user ' + u)];
    replace(head,
      h('dl', { class: 'kv' },
        h('dt', {}, 'step'), h('dd', {}, h('strong', {}, t.step_label || t.step), t.step_label ? ` (${t.step})` : ''),
        h('dt', {}, 'state'), h('dd', {}, badge(enumName(t.state), t.state, { id: 'task-state', 'data-test': 'task-state', 'data-state': t.state }),
          t.overdue ? badge('overdue', 'overdue') : null),
        h('dt', {}, 'assignee'), h('dd', { id: 'task-assignee', 'data-test': 'task-assignee' }, t.assignee || ''),
        h('dt', {}, 'instance'), h('dd', {}, instanceLink(t.instance_id), ` ${t.definition} v${t.version}`,
          g.instance ? [' ', stateBadges(g.instance.states)] : null),
        h('dt', {}, 'queue'), h('dd', {}, t.queue),
        h('dt', {}, 'priority'), h('dd', {}, t.priority),
        h('dt', {}, 'due'), h('dd', {}, due(t) || 'no due date'),
        h('dt', {}, 'candidates'), h('dd', {}, candidates.join(', ') || 'anyone'),
        h('dt', {}, 'created'), h('dd', {}, `${time(t.created_ms)} at height ${t.created_height}`),
        t.close_reason || t.closed_by ? [h('dt', {}, 'closed'), h('dd', { id: 'task-closed' },
          `${time(t.closed_ms)} at height ${t.closed_height}${t.close_reason ? ': ' + t.close_reason : ''}${t.closed_by ? ' (by ' + t.closed_by + ')' : ''}`)] : null),
      h('div', { class: 'actions', style: 'margin-top:10px' },
        open ? h('button', { id: 'task-claim', 'data-test': 'task-claim', onclick: () => act('/claim', { assignee: me() }) }, `Claim as ${me() || '…'}`) : null,
        claimed ? h('button', { id: 'task-unclaim', class: 'secondary', 'data-test': 'task-unclaim', onclick: () => act('/unclaim') }, 'Unclaim') : null,
        claimed && t.assignee !== me() ? h('button', { id: 'task-claim-override', class: 'danger', onclick: () => act('/claim', { assignee: me(), allow_override: true }) }, `Take over from ${t.assignee}`) : null),
      actionErr);
  }

  // ------------------------------------------------------------ incidents, jobs

  const ACTIVE_JOBS = 'JOB_ACTIVATABLE,JOB_ACTIVATED,JOB_FAILED,JOB_INCIDENT';

  async function pageIncidents(root, _args, q) {
    const type = q.get('type') || '';
    const err = h('div', { class: 'error-box', id: 'incidents-error', 'data-test': 'incidents-error' });
    const incBody = h('tbody', {});
    const jobBody = h('tbody', {});
    const form = h('form', { class: 'filters' },
      h('label', {}, 'job type', h('input', { name: 'type', value: type, placeholder: 'any' })),
      h('button', { type: 'submit' }, 'Filter'));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); go('/incidents', { type: form.type.value.trim() }); });
    append(root, h('h1', {}, 'Incidents and jobs'), form, err,
      h('h2', {}, 'Open incidents'),
      h('table', { id: 'incidents-table', 'data-test': 'incidents-table' },
        h('thead', {}, h('tr', {}, ['incident', 'instance', 'step · type', 'kind', 'error', 'raised', 'retries', ''].map((t) => h('th', {}, t)))), incBody),
      h('h2', {}, 'Jobs not closed'),
      h('table', { id: 'jobs-table', 'data-test': 'jobs-table' },
        h('thead', {}, h('tr', {}, ['job', 'instance', 'type', 'state', 'worker', 'retries', 'last error', 'deadline / retry at'].map((t) => h('th', {}, t)))), jobBody));

    async function load() {
      const [ri, rj] = await Promise.all([get('/incidents' + qs({ type, page_size: 200 })),
        get('/jobs' + qs({ type, states: ACTIVE_JOBS, page_size: 200 }))]);
      err.textContent = [ri, rj].filter((r) => !r.ok).map((r) => errorText(r.error)).join('; ');
      if (ri.ok) {
        const list = (ri.data.incidents || []).filter((i) => !i.resolved);
        replace(incBody, list.length ? list.map((i) => incidentRow(i, load)) : h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'no open incidents')));
      }
      if (rj.ok) {
        const list = rj.data.jobs || [];
        replace(jobBody, list.length ? list.map((j) => h('tr', { 'data-job-key': j.key, 'data-state': j.state },
          h('td', { class: 'mono' }, j.key),
          h('td', {}, instanceLink(j.instance_id)),
          h('td', {}, j.type),
          h('td', {}, badge(enumName(j.state), j.state)),
          h('td', {}, j.worker),
          h('td', {}, j.retries),
          h('td', {}, j.error_code ? j.error_code + ': ' : '', j.error_message),
          h('td', {}, j.state === 'JOB_ACTIVATED' ? time(j.deadline_ms) : j.state === 'JOB_FAILED' ? time(j.retry_at_ms) : ''))) :
          h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'no open jobs')));
      }
    }
    const source = new EventSource('/api/v1/events' + qs({ from_now: 'true' }));
    onLeave(() => source.close());
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(load, 200); };
    onLeave(() => clearTimeout(timer));
    for (const t of EVENT_TYPES) if (t.startsWith('job_') || t.startsWith('incident_')) source.addEventListener(t, soon);
    await load();
  }

  function incidentRow(i, reload) {
    const note = h('div', { class: 'field-error', 'data-test': 'incident-error' });
    const retries = h('input', { type: 'number', min: 1, value: 3, size: 3, style: 'width:4em', 'data-test': 'incident-retries' });
    const run = async (steps) => {
      note.textContent = '';
      for (const [path, body] of steps) {
        const r = await post(path, body);
        if (!r.ok) { note.textContent = errorText(r.error); return; }
      }
      reload();
    };
    const setRetries = () => ['/jobs/' + enc(i.job_key) + '/retries', { retries: Number(retries.value) }];
    const resolve = () => ['/incidents/' + enc(i.incident_id) + '/resolve', {}];
    return h('tr', { 'data-incident-id': i.incident_id, 'data-job-key': i.job_key },
      h('td', { class: 'mono' }, i.incident_id),
      h('td', {}, instanceLink(i.instance_id), h('div', { class: 'sub' }, i.definition)),
      h('td', {}, i.step, h('div', { class: 'sub' }, i.type)),
      h('td', {}, badge(i.kind, 'bad')),
      h('td', { 'data-test': 'incident-message' }, i.message),
      h('td', {}, time(i.raised_ms)),
      h('td', {}, i.retries),
      h('td', {}, h('div', { class: 'actions' }, retries,
        // Retry: the job gets retries and is activatable again.
        h('button', { 'data-test': 'incident-retry', title: 'set the job\'s retries, then resolve', onclick: () => run([setRetries(), resolve()]) }, 'Retry'),
        h('button', { class: 'secondary', 'data-test': 'incident-resolve', title: 'resolve without changing retries', onclick: () => run([resolve()]) }, 'Resolve')),
      note));
  }

  // ------------------------------------------------------------ definitions

  async function pageDefinitions(root) {
    const r = await get('/definitions');
    append(root, h('h1', {}, 'Definitions'));
    if (!r.ok) { append(root, h('div', { class: 'error-box' }, errorText(r.error))); return; }
    const list = r.data.definitions || [];
    append(root, h('table', { id: 'definitions-table', 'data-test': 'definitions-table' },
      h('thead', {}, h('tr', {}, ['definition', 'version', 'runtime', 'roles', 'steps', 'hash'].map((t) => h('th', {}, t)))),
      h('tbody', {}, list.length ? list.map((d) => h('tr', { 'data-definition': d.name, 'data-version': d.version },
        h('td', {}, h('a', { href: '#/definitions/' + enc(d.name) + qs({ version: d.version }), 'data-test': 'definition-link' }, d.name)),
        h('td', {}, d.version), h('td', {}, d.runtime),
        h('td', {}, (d.roles || []).join(', ')), h('td', {}, (d.steps || []).join(', ')),
        h('td', { class: 'hash', title: d.hash }, short(d.hash)))) : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'no definitions')))));
  }

  async function pageDefinition(root, [name], q) {
    const version = q.get('version') || '';
    const r = await get('/definitions/' + enc(name) + qs({ version }));
    append(root, h('h1', {}, 'Definition ', name, version ? ' v' + version : ''));
    if (!r.ok) { append(root, h('div', { class: 'error-box', id: 'definition-error' }, errorText(r.error))); return; }
    const d = r.data;
    let c = {};
    try { c = JSON.parse(d.canonical_json || '{}'); } catch (e) { c = {}; }
    const diagram = h('div', { class: 'diagram', id: 'definition-diagram', 'data-test': 'diagram' }, 'loading…');
    append(root,
      h('div', { class: 'card' }, h('dl', { class: 'kv' },
        h('dt', {}, 'version'), h('dd', {}, d.version), h('dt', {}, 'runtime'), h('dd', {}, d.runtime),
        h('dt', {}, 'hash'), h('dd', { class: 'hash' }, d.hash),
        c.description ? [h('dt', {}, 'description'), h('dd', {}, c.description)] : null,
        h('dt', {}, 'roles'), h('dd', { id: 'definition-roles' }, (d.roles || []).map((x) => badge(x))),
        h('dt', {}, 'instances'), h('dd', {}, h('a', { href: '#/instances' + qs({ definition: d.name }) }, 'list them')))),
      h('h2', {}, 'Diagram'), diagram,
      h('h2', {}, 'States'), statesTable(c.states || {}),
      h('h2', {}, 'Steps'), stepsTable(c.steps || {}),
      c.data ? [h('h2', {}, 'Data'), fieldsTable(c.data)] : null);
    const svg = await fetchSvg('/api/v1/definitions/' + enc(name) + '/diagram.svg' + qs({ version: d.version }));
    replace(diagram, svg.svg || h('div', { class: 'error-box' }, svg.error));
  }

  function statesTable(states) {
    const rows = [];
    const walk = (obj, depth, scope) => {
      for (const [n, s] of Object.entries(obj || {})) {
        const flags = [s.initial ? 'initial' : '', s.final ? 'final' : '', s.regions ? 'parallel' : ''].filter(Boolean);
        rows.push(h('tr', { 'data-state': n },
          h('td', { style: `padding-left:${8 + depth * 18}px` }, h('strong', {}, n), s.label ? ` (${s.label})` : '', scope ? h('span', { class: 'sub' }, ' in ' + scope) : ''),
          h('td', {}, flags.map((f) => badge(f))),
          h('td', {}, s.description || ''),
          h('td', {}, s.deadline ? `after ${s.deadline.after}: ${s.deadline.step}` : '')));
        walk(s.states, depth + 1, n);
        for (const [rn, reg] of Object.entries(s.regions || {})) walk(reg.states, depth + 1, `${n} / ${rn}`);
      }
    };
    walk(states, 0, '');
    return h('table', { id: 'definition-states', 'data-test': 'definition-states' },
      h('thead', {}, h('tr', {}, ['state', '', 'description', 'deadline'].map((t) => h('th', {}, t)))), h('tbody', {}, rows));
  }

  function fieldSummary(input) {
    return Object.entries(input || {}).map(([k, v]) => {
      const f = typeof v === 'string' ? { type: v } : v || {};
      const extra = [f.required === false ? 'optional' : '', f.minimum !== undefined ? '≥' + f.minimum : '', f.maximum !== undefined ? '≤' + f.maximum : '',
        f.enum ? 'one of ' + f.enum.join('|') : ''].filter(Boolean).join(', ');
      return h('div', { class: 'mono' }, `${k}: ${f.type || 'any'}${extra ? ' (' + extra + ')' : ''}`);
    });
  }

  function stepsTable(steps) {
    return h('table', { id: 'definition-steps', 'data-test': 'definition-steps' },
      h('thead', {}, h('tr', {}, ['step', 'from → to', 'by', 'done by', 'input', 'guard'].map((t) => h('th', {}, t)))),
      h('tbody', {}, Object.entries(steps).map(([n, s]) => {
        const task = s.task || {};
        const doneBy = task.human ? `person, queue ${task.human.queue}` + (task.human.form && task.human.form.title ? ` — “${task.human.form.title}”` : '')
          : task.job ? `machine, job type ${task.job.type}` : 'a call';
        return h('tr', { 'data-step': n },
          h('td', {}, h('strong', {}, n), s.label ? ` (${s.label})` : '', s.description ? h('div', { class: 'sub' }, s.description) : null),
          h('td', {}, (s.from || []).join(', '), ' → ', s.to),
          h('td', {}, (s.by || []).join(', ')),
          h('td', {}, doneBy),
          h('td', {}, fieldSummary(s.input)),
          h('td', { class: 'mono' }, s.guard || ''));
      })));
  }

  function fieldsTable(data) {
    return h('table', { id: 'definition-data' },
      h('thead', {}, h('tr', {}, ['field', 'type', 'visible to', 'description'].map((t) => h('th', {}, t)))),
      h('tbody', {}, Object.entries(data).map(([k, v]) => {
        const f = typeof v === 'string' ? { type: v } : v || {};
        return h('tr', {}, h('td', {}, k, f.unique ? ' ' : '', f.unique ? badge('unique') : null), h('td', {}, f.type || 'any'),
          h('td', {}, (f.visible_to || []).join(', ') || 'every member'), h('td', {}, f.description || ''));
      })));
  }

  // ------------------------------------------------------------ node

  async function pageNode(root) {
    const body = h('div', { id: 'node-status', 'data-test': 'node-status' }, 'loading…');
    const err = h('div', { class: 'error-box', id: 'node-error' });
    append(root, h('h1', {}, 'Node'), err, body);
    async function load() {
      const r = await get('/status');
      if (!r.ok) { err.textContent = errorText(r.error); return; }
      err.textContent = '';
      const s = r.data, lh = s.ledger_health || {};
      const kv = (k, v, id) => [h('dt', {}, k), h('dd', id ? { id, 'data-test': id } : {}, v)];
      replace(body,
        h('div', { class: 'grid2' },
          h('div', { class: 'card' }, h('dl', { class: 'kv' },
            kv('party', h('strong', {}, s.party), 'node-party'),
            kv('ledger', s.ledger),
            kv('ledger height', s.ledger_height, 'node-ledger-height'),
            kv('applied height', s.applied_height, 'node-applied-height'),
            kv('lag', [String(s.lag), num(s.lag) > 0 ? [' ', badge('behind', 'warn')] : ''], 'node-lag'),
            kv('ledger time', time(s.ledger_time_ms)),
            kv('pending proposals', s.pending_proposals),
            kv('outbox', [String(s.outbox), ' messages to members not yet receipted'], 'node-outbox'),
            kv('refused connections', s.refused_connections),
            kv('version', s.version))),
          h('div', { class: 'card' }, h('dl', { class: 'kv' },
            kv('ledger reachable', lh.reachable ? badge('yes', 'ok') : badge('no', 'bad')),
            lh.error ? kv('ledger problem', h('span', { class: 'bad' }, lh.error)) : null,
            lh.chain_id && num(lh.chain_id) ? [kv('chain', lh.chain_id), kv('contract', h('span', { class: 'hash' }, lh.contract)),
              kv('account', h('span', { class: 'hash' }, lh.account)), kv('balance (wei)', lh.balance_wei),
              kv('head · confirmed block', `${lh.head_block} · ${lh.confirmed_block} (${lh.confirmations} confirmations)`),
              kv('pending transactions', lh.pending_transactions)] : null,
            kv('open tasks', [String(s.open_tasks), num(s.overdue_tasks) ? [' ', badge(s.overdue_tasks + ' overdue', 'overdue')] : '']),
            kv('open jobs', `${s.open_jobs} (${s.activated_jobs} activated)`),
            kv('incidents', num(s.incidents) ? h('a', { href: '#/incidents' }, s.incidents) : '0'),
            kv('pending deadlines', s.pending_deadlines),
            kv('store', `${s.store_commits} commits, ${s.store_pages_written} pages written`)))),
        h('h2', {}, 'Members'),
        h('ul', { id: 'node-members', 'data-test': 'node-members' }, (s.members || []).length ?
          s.members.map((m) => h('li', {}, m, m === s.party ? h('span', { class: 'sub' }, ' (this node)') : '')) : h('li', { class: 'sub' }, 'a single node')),
        h('h2', {}, 'Blocked instances'),
        h('table', { id: 'node-blocked', 'data-test': 'node-blocked' },
          h('thead', {}, h('tr', {}, ['instance', 'waiting for pin', 'height', 'blocked for', 'pins queued'].map((t) => h('th', {}, t)))),
          h('tbody', {}, (s.blocked || []).length ? s.blocked.map((b) => h('tr', {},
            h('td', {}, instanceLink(b.instance_id)), h('td', { class: 'hash' }, short(b.pin, 16)), h('td', {}, b.ledger_height),
            h('td', {}, ago(b.blocked_ms)), h('td', {}, b.waiting_pins))) :
            (s.blocked_instances || []).length ? s.blocked_instances.map((id) => h('tr', {}, h('td', { colspan: 5 }, instanceLink(id)))) :
              h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'none')))));
      root.setAttribute('data-refreshes', String(Number(root.getAttribute('data-refreshes') || 0) + 1));
    }
    const timer = setInterval(load, 3000);
    onLeave(() => clearInterval(timer));
    await load();
  }

  // ------------------------------------------------------------ start

  window.addEventListener('hashchange', route);
  loadParty();
  route();
})();
