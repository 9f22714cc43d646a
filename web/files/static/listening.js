// The listening tests: the owner's view (#listening: create, list,
// delete), the listener's (#listen/ID: blind, one stimulus at a time,
// each rating sent as it is chosen) and the results (#results/ID).
import { apiFetch, errorText } from './api.js';

const $ = (id) => document.getElementById(id);
const base = '/v1/listening-tests';

// el makes an element with its text.
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function getJSON(url, init) {
  const res = await apiFetch(url, init);
  if (!res.ok) throw new Error(await errorText(res));
  return res;
}

// ---- The owner's view.

async function loadModels() {
  const box = $('lt-models');
  try {
    const models = (await (await getJSON('/v1/models')).json()).models.filter((m) => !m.local_conditioning);
    box.replaceChildren(...models.map((m, i) => {
      const l = el('label');
      const c = document.createElement('input');
      c.type = 'checkbox';
      c.name = 'lt-model';
      c.value = m.id;
      c.checked = i < 2;
      l.append(c, ' ' + m.id);
      return l;
    }));
  } catch (e) {
    box.replaceChildren(el('p', 'could not list the models: ' + e.message, 'muted'));
  }
}

async function create(ev) {
  ev.preventDefault();
  const status = $('lt-form-status');
  const models = [...document.querySelectorAll('input[name="lt-model"]:checked')].map((c) => c.value);
  const texts = $('lt-texts').value.split('\n').map((s) => s.trim()).filter((s) => s);
  const dir = $('lt-dir').value.trim();
  const body = dir ? { name: $('lt-name').value.trim(), kind: $('lt-kind').value, dir }
    : { name: $('lt-name').value.trim(), kind: $('lt-kind').value, models, texts };
  status.textContent = 'Synthesizing the stimuli…';
  $('lt-create').disabled = true;
  try {
    const t = await (await getJSON(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json();
    status.textContent = `Created "${t.name || t.id}" with ${t.stimuli.length} stimuli.`;
    status.dataset.id = t.id;
    await list();
  } catch (e) {
    status.textContent = 'Could not create the test: ' + e.message;
  } finally {
    $('lt-create').disabled = false;
  }
}

async function list() {
  const status = $('lt-list-status');
  try {
    const tests = (await (await getJSON(base)).json()).tests;
    $('lt-rows').replaceChildren(...tests.map((t) => {
      const tr = document.createElement('tr');
      tr.dataset.id = t.id;
      const link = el('a', location.origin + location.pathname + '#listen/' + t.id);
      link.href = '#listen/' + t.id;
      link.className = 'listen-link';
      const results = el('a', 'Results');
      results.href = '#results/' + t.id;
      const del = el('button', 'Delete');
      del.type = 'button';
      del.setAttribute('aria-label', `Delete ${t.name || t.id}`);
      del.addEventListener('click', () => remove(t));
      const cells = [el('td', t.name || t.id), el('td', t.kind === 'ab' ? 'A/B' : 'MOS'), el('td', t.models.join(', ')),
        el('td', t.stimuli), el('td'), el('td', undefined, 'row')];
      cells[4].append(link);
      cells[5].append(results, del);
      tr.append(...cells);
      return tr;
    }));
    status.textContent = tests.length ? '' : 'No tests yet.';
  } catch (e) {
    status.textContent = 'could not list the tests: ' + e.message;
  }
}

async function remove(t) {
  if (!confirm(`Delete "${t.name || t.id}" and its ratings?`)) return;
  try {
    await getJSON(`${base}/${t.id}`, { method: 'DELETE' });
  } catch (e) {
    $('lt-list-status').textContent = 'could not delete: ' + e.message;
  }
  await list();
}

// ---- The listener's view.

const listen = { id: '', kind: '', items: [], at: 0, token: '', urls: [] };

// audioURL fetches a stimulus with the API key and gives a blob: URL (an
// <audio src> could not send the key).
async function audioURL(path) {
  const res = await getJSON(path, { headers: listen.token ? { 'X-Listener': listen.token } : {} });
  const u = URL.createObjectURL(await res.blob());
  listen.urls.push(u);
  return u;
}

function freeAudio() {
  for (const u of listen.urls) URL.revokeObjectURL(u);
  listen.urls = [];
}

async function openListen(id) {
  const status = $('listen-status');
  $('listen-item').hidden = true;
  status.textContent = 'Loading the test…';
  try {
    const res = await getJSON(`${base}/${id}`, { headers: listen.token ? { 'X-Listener': listen.token } : {} });
    const v = await res.json();
    listen.token = res.headers.get('X-Listener') || v.listener || listen.token;
    Object.assign(listen, { id: v.id, kind: v.kind, items: v.stimuli, at: 0 });
    $('listen-h').textContent = 'Listening test' + (v.name ? ': ' + v.name : '');
    // Start at the first stimulus not yet rated.
    const first = v.stimuli.findIndex((it) => !it.score && !it.choice);
    listen.at = first < 0 ? 0 : first;
    status.textContent = v.stimuli.length ? 'Listen, then rate; each rating is saved as you choose it.' : 'This test has no stimuli.';
    if (v.stimuli.length) await showItem();
  } catch (e) {
    status.textContent = 'Could not open the test: ' + e.message;
  }
}

async function showItem() {
  const it = listen.items[listen.at];
  const ab = listen.kind === 'ab';
  $('listen-item').hidden = false;
  $('listen-item').dataset.index = String(listen.at);
  $('listen-item').dataset.test = listen.id;
  $('listen-progress').textContent = `${listen.at + 1} of ${listen.items.length}`;
  $('listen-text').textContent = it.text;
  $('listen-mos').hidden = ab;
  $('listen-ab').hidden = !ab;
  $('listen-b-fig').hidden = !ab;
  $('listen-a-cap').textContent = ab ? 'Clip A' : 'Clip';
  for (const r of document.querySelectorAll('#listen-item input[type="radio"]')) {
    r.checked = ab ? r.value === it.choice : Number(r.value) === it.score;
  }
  $('listen-prev').disabled = listen.at === 0;
  $('listen-next').textContent = listen.at === listen.items.length - 1 ? 'Finish' : 'Next';
  $('listen-saved').textContent = it.score || it.choice ? 'Rated.' : '';
  freeAudio();
  const a = $('listen-a'), b = $('listen-b');
  a.removeAttribute('src');
  b.removeAttribute('src');
  try {
    a.src = await audioURL(it.audio);
    if (ab) b.src = await audioURL(it.audio_b);
  } catch (e) {
    $('listen-saved').textContent = 'Could not load the audio: ' + e.message;
  }
}

async function rate(ev) {
  const r = ev.target;
  if (r.type !== 'radio' || !r.checked) return;
  const it = listen.items[listen.at];
  const body = r.name === 'score' ? { score: Number(r.value) } : { choice: r.value };
  const saved = $('listen-saved');
  saved.textContent = 'Saving…';
  try {
    await getJSON(`${base}/${listen.id}/ratings/${it.id}`, {
      method: 'PUT', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'X-Listener': listen.token },
    });
    Object.assign(it, body);
    saved.textContent = 'Saved.';
  } catch (e) {
    saved.textContent = 'Not saved: ' + e.message;
  }
}

function step(d) {
  const n = listen.at + d;
  if (n >= listen.items.length) {
    const left = listen.items.filter((it) => !it.score && !it.choice).length;
    $('listen-status').textContent = left ? `Done, though ${left} stimulus(es) have no rating yet.` : 'Thank you: every stimulus is rated.';
    $('listen-status').focus();
    return;
  }
  if (n < 0) return;
  listen.at = n;
  showItem();
}

// ---- The results.

const fmt = (x) => (x === null || x === undefined ? '–' : x.toFixed(2));

async function openResults(id) {
  const status = $('results-status');
  results.id = id;
  status.textContent = 'Loading the results…';
  try {
    const r = await (await getJSON(`${base}/${id}/results`)).json();
    $('results-h').textContent = 'Results: ' + (r.name || r.test);
    const link = location.origin + location.pathname + '#listen/' + r.test;
    status.textContent = `${r.kind === 'ab' ? 'A/B' : 'MOS'} test, ${r.listeners} listener(s), ${r.ratings.length} rating(s). Listener link: ${link}`;
    $('results-mos').hidden = !r.mos;
    $('results-ab').hidden = !r.ab;
    $('results-mos-rows').replaceChildren(...(r.mos || []).map((m) => {
      const tr = el('tr');
      tr.dataset.model = m.model;
      const bar = el('td', undefined, 'bar-cell');
      if (m.mean !== null) {
        const track = el('div', undefined, 'bar');
        track.setAttribute('aria-hidden', 'true');
        const fill = el('div', undefined, 'bar-fill');
        fill.style.width = `${((m.mean - 1) / 4) * 100}%`;
        track.append(fill);
        if (m.ci95_low !== null) {
          const ci = el('div', undefined, 'bar-ci');
          const lo = Math.max(1, m.ci95_low), hi = Math.min(5, m.ci95_high);
          ci.style.left = `${((lo - 1) / 4) * 100}%`;
          ci.style.width = `${((hi - lo) / 4) * 100}%`;
          track.append(ci);
        }
        bar.append(track);
      }
      const ci = m.ci95_low === null ? '–' : `${fmt(m.ci95_low)} to ${fmt(m.ci95_high)}`;
      tr.append(el('th', m.model), el('td', m.n, 'n'), el('td', fmt(m.mean), 'mean'), el('td', ci, 'ci'), bar);
      tr.firstChild.scope = 'row';
      return tr;
    }));
    if (r.ab) {
      const p = r.ab;
      const tr = el('tr');
      tr.append(el('td', p.models[0]), el('td', p.wins[0], 'wins-a'), el('td', p.models[1]), el('td', p.wins[1], 'wins-b'),
        el('td', p.ties, 'ties'), el('td', p.p_value.toPrecision(3), 'p'));
      $('results-ab-rows').replaceChildren(tr);
    }
  } catch (e) {
    status.textContent = 'Could not read the results: ' + e.message;
  }
}

const results = { id: '' };

async function download(query, name) {
  const state = $('results-download');
  try {
    const blob = await (await getJSON(`${base}/${results.id}/results${query}`)).blob();
    const a = document.createElement('a');
    const u = URL.createObjectURL(blob);
    a.href = u;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(u), 10000);
    state.textContent = `Saved ${name}: ${blob.size} bytes.`;
  } catch (e) {
    state.textContent = 'Download failed: ' + e.message;
  }
}

export function initListening() {
  $('lt-form').addEventListener('submit', create);
  $('listen-item').addEventListener('change', rate);
  $('listen-prev').addEventListener('click', () => step(-1));
  $('listen-next').addEventListener('click', () => step(1));
  $('listen-status').tabIndex = -1;
  $('results-csv').addEventListener('click', () => download('?format=csv', `listening-test-${results.id}.csv`));
  $('results-ratings-csv').addEventListener('click', () => download('?format=csv&table=ratings', `listening-test-${results.id}-ratings.csv`));
  $('results-json').addEventListener('click', () => download('', `listening-test-${results.id}.json`));
  const show = (name, arg) => {
    if (name === 'listening') { loadModels(); list(); }
    if (name === 'listen') openListen(arg);
    if (name === 'results') openResults(arg);
  };
  const arg = () => decodeURIComponent(location.hash.slice(1).split('/')[1] || '');
  document.addEventListener('viewchange', (ev) => show(ev.detail, arg()));
  document.addEventListener('apikeychange', () => show(location.hash.slice(1).split('/')[0], arg()));
}
