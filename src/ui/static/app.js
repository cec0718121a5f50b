/*
 * The topology page: networks, subnets, routers, ports and chassis as a graph (cytoscape.js,
 * automatic 'cose' layout) and as a list of every object (for accessibility and tests), with a
 * search box. Data comes from the Neutron API with the user's credentials (a Keystone token, or a
 * project in noauth mode) and /ui/api/chassis; /ui/api/events (server-sent events) says when
 * something changed, and the page reads again.
 */
'use strict';
(function () {
  const params = new URLSearchParams(location.search);
  const creds = {
    token: params.get('token') || sessionStorage.getItem('wyvern-token') || '',
    project: params.get('project') || sessionStorage.getItem('wyvern-project') || '',
    // noauth: X-Roles (e.g. admin, to see bindings: which VM runs on which chassis).
    roles: params.get('roles') || '',
  };
  const $ = (id) => document.getElementById(id);
  $('token').value = creds.token;
  $('project').value = creds.project;

  const headers = () => {
    const h = { Accept: 'application/json' };
    if (creds.token) h['X-Auth-Token'] = creds.token;
    if (creds.project) h['X-Project-Id'] = creds.project;
    if (creds.roles) h['X-Roles'] = creds.roles;
    return h;
  };
  const query = () => {
    const q = new URLSearchParams();
    if (creds.token) q.set('token', creds.token);
    if (creds.project) q.set('project', creds.project);
    return q.toString();
  };
  async function get(path) {
    const res = await fetch(path, { headers: headers() });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  const cy = cytoscape({
    container: $('graph'),
    style: [
      { selector: 'node', style: { label: 'data(label)', 'font-size': 10, 'text-valign': 'bottom', 'text-margin-y': 3, 'text-wrap': 'wrap' } },
      { selector: 'node.network', style: { shape: 'round-rectangle', 'background-color': '#4a78c2', width: 60, height: 24 } },
      { selector: 'node.router', style: { shape: 'diamond', 'background-color': '#8e44ad' } },
      { selector: 'node.chassis', style: { shape: 'rectangle', 'background-color': '#7f8c8d' } },
      { selector: 'node.port', style: { 'background-color': '#b0b0b0', width: 16, height: 16 } },
      { selector: 'node.port.ACTIVE', style: { 'background-color': '#27ae60' } },
      { selector: 'node.port.DOWN', style: { 'background-color': '#c0392b' } },
      { selector: 'node.chassis.down', style: { 'background-color': '#c0392b' } },
      { selector: 'edge', style: { width: 1.5, 'line-color': '#bbb' } },
      { selector: 'edge.binding', style: { 'line-style': 'dashed' } },
      { selector: '.dim', style: { opacity: 0.15 } },
    ],
  });

  let model = { networks: [], subnets: [], routers: [], ports: [], chassis: [] };

  function text(o) {
    return [o.name, o.id, o.cidr, o.status, o['binding:host_id'], o.device_owner, ...(o.fixed_ips || []).map((f) => f.ip_address)]
      .filter(Boolean).join(' ').toLowerCase();
  }

  function li(kind, id, status, label, detail, searchText) {
    const e = document.createElement('li');
    e.dataset.kind = kind;
    e.dataset.id = id;
    if (status) e.dataset.status = status;
    e.dataset.search = searchText;
    if (status) {
      const s = document.createElement('span');
      s.className = `status status-${status}`;
      s.textContent = status;
      e.append(s, ' ');
    }
    e.append(label);
    if (detail) {
      const d = document.createElement('span');
      d.className = 'muted';
      d.textContent = ` ${detail}`;
      e.append(d);
    }
    return e;
  }

  function renderList() {
    const nets = new Map(model.networks.map((n) => [n.id, n]));
    const fill = (id, items) => $(id).replaceChildren(...items);
    fill('list-networks', model.networks.map((n) => li('network', n.id, n.status, n.name || n.id, (n.subnets || []).length + ' subnet(s)', text(n))));
    fill('list-subnets', model.subnets.map((s) => li('subnet', s.id, '', s.name || s.id, `${s.cidr} on ${(nets.get(s.network_id) || {}).name || s.network_id}`, text(s))));
    fill('list-routers', model.routers.map((r) => li('router', r.id, r.status, r.name || r.id, '', text(r))));
    fill('list-ports', model.ports.map((p) => li('port', p.id, p.status, p.name || p.id,
      `${(p.fixed_ips || []).map((f) => f.ip_address).join(', ')} on ${(nets.get(p.network_id) || {}).name || p.network_id}${p['binding:host_id'] ? ` @ ${p['binding:host_id']}` : ''}`, text(p))));
    fill('list-chassis', model.chassis.map((c) => {
      const vms = model.ports.filter((p) => p['binding:host_id'] === c.name && String(p.device_owner).startsWith('compute:'));
      return li('chassis', c.name, c.alive ? 'up' : 'down', c.name, `VMs: ${vms.map((p) => p.name || p.id).join(', ') || 'none'}`, `${c.name} ${vms.map(text).join(' ')}`.toLowerCase());
    }));
    applySearch();
  }

  function renderGraph() {
    const els = [];
    const ids = new Set();
    const node = (id, label, classes) => { ids.add(id); els.push({ group: 'nodes', data: { id, label }, classes }); };
    for (const n of model.networks) node(`net:${n.id}`, `${n.name || n.id}\n${model.subnets.filter((s) => s.network_id === n.id).map((s) => s.cidr).join(' ')}`, 'network');
    for (const r of model.routers) node(`router:${r.id}`, r.name || r.id, 'router');
    for (const c of model.chassis) node(`chassis:${c.name}`, c.name, `chassis ${c.alive ? 'up' : 'down'}`);
    for (const p of model.ports) {
      if (String(p.device_owner).startsWith('network:router_interface') && ids.has(`router:${p.device_id}`) && ids.has(`net:${p.network_id}`)) {
        els.push({ group: 'edges', data: { id: `e:${p.id}`, source: `router:${p.device_id}`, target: `net:${p.network_id}` } });
        continue;
      }
      if (String(p.device_owner).startsWith('network:')) continue;
      node(`port:${p.id}`, p.name || (p.fixed_ips || []).map((f) => f.ip_address).join(' '), `port ${p.status}`);
      if (ids.has(`net:${p.network_id}`)) els.push({ group: 'edges', data: { id: `e:${p.id}`, source: `port:${p.id}`, target: `net:${p.network_id}` } });
      const host = p['binding:host_id'];
      if (host && ids.has(`chassis:${host}`)) els.push({ group: 'edges', data: { id: `b:${p.id}`, source: `port:${p.id}`, target: `chassis:${host}` }, classes: 'binding' });
    }
    cy.batch(() => {
      cy.elements().remove();
      cy.add(els);
    });
    cy.layout({ name: 'cose', animate: false, randomize: false }).run();
    applySearch();
  }

  function applySearch() {
    const q = $('search').value.trim().toLowerCase();
    const shown = new Set();
    for (const e of document.querySelectorAll('#list li')) {
      const hit = q === '' || e.dataset.search.includes(q);
      e.hidden = !hit;
      if (hit) shown.add(e.dataset.id);
    }
    cy.nodes().forEach((n) => {
      const id = n.id().slice(n.id().indexOf(':') + 1);
      n.toggleClass('dim', q !== '' && !shown.has(id));
    });
  }

  let refreshing = false;
  let again = false;
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      do {
        again = false;
        const [networks, subnets, routers, ports, chassis] = await Promise.all([
          get('/v2.0/networks'), get('/v2.0/subnets'), get('/v2.0/routers'), get('/v2.0/ports'), get(`/ui/api/chassis?${query()}`),
        ]);
        model = { networks: networks.networks, subnets: subnets.subnets, routers: routers.routers, ports: ports.ports, chassis: chassis.chassis };
        renderList();
        renderGraph();
        $('state').textContent = `${model.networks.length} networks, ${model.ports.length} ports, ${model.chassis.length} chassis · live`;
        document.body.dataset.loaded = 'true';
      } while (again);
    } catch (err) {
      $('state').textContent = `error: ${err.message}`;
    } finally {
      refreshing = false;
    }
  }

  let source;
  function follow() {
    if (source) source.close();
    source = new EventSource(`/ui/api/events?${query()}`);
    source.addEventListener('change', () => refresh());
    source.addEventListener('hello', () => refresh());
  }

  $('search').addEventListener('input', applySearch);
  $('apply').addEventListener('click', () => {
    creds.token = $('token').value.trim();
    creds.project = $('project').value.trim();
    sessionStorage.setItem('wyvern-token', creds.token);
    sessionStorage.setItem('wyvern-project', creds.project);
    follow();
  });
  follow();
})();
