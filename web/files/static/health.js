// The health view: models from GET /v1/models, live numbers from /metrics
// (Prometheus text exposition format), refreshed every 2 s while shown.
import { apiFetch, errorText } from './api.js';

// parseMetrics returns {name: [{labels, value}]} for the wavenet_ series.
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(wavenet_[a-z_]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const kv of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    (out[m[1]] ||= []).push({ labels, value: Number(m[3]) });
  }
  return out;
}

function byModel(series, model) {
  let sum = 0;
  for (const s of series || []) if (s.labels.model === model) sum += s.value;
  return sum;
}

let timer = null;

async function refresh() {
  const status = document.getElementById('health-status');
  const body = document.getElementById('health-rows');
  try {
    const [mres, xres, rres] = await Promise.all([apiFetch('/v1/models'), fetch('/metrics'), fetch('/readyz')]);
    if (!mres.ok) throw new Error('models: ' + await errorText(mres));
    if (!xres.ok) throw new Error('metrics: ' + await errorText(xres));
    const models = (await mres.json()).models;
    const m = parseMetrics(await xres.text());
    body.replaceChildren(...models.map((info) => {
      const tr = document.createElement('tr');
      const cells = [info.id, info.local_conditioning ? 'vocoder' : 'voice', info.sample_rate + ' Hz',
        info.generator, byModel(m.wavenet_active_streams, info.id) + ' / ' + info.max_streams,
        byModel(m.wavenet_queue_depth, info.id), byModel(m.wavenet_generated_samples_total, info.id),
        byModel(m.wavenet_rejected_total, info.id)];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = String(c);
        tr.append(td);
      }
      return tr;
    }));
    status.textContent = `${rres.ok ? 'ready' : 'not ready'}; ${models.length} model(s); updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    status.textContent = 'could not read the status: ' + e.message;
  }
}

export function initHealth() {
  document.addEventListener('viewchange', (ev) => {
    clearInterval(timer);
    timer = null;
    if (ev.detail === 'health') {
      refresh();
      timer = setInterval(refresh, 2000);
    }
  });
  document.getElementById('health-refresh').addEventListener('click', refresh);
  if (!document.getElementById('health').hidden) {
    refresh();
    timer = setInterval(refresh, 2000);
  }
}
