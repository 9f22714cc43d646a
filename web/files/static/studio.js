// The Studio: pick a model and its voice, say digits with streaming
// playback, look at the result, download it, copy the request as curl;
// for a vocoder, copy-synthesise an uploaded or recorded clip.
import { apiFetch, apiKey, errorText } from './api.js';
import { PCMPlayer, encodeWAV, decodeWAV16, mono, drawWaveform, drawSpectrogram } from './audio.js';

const $ = (id) => document.getElementById(id);

let models = [];
let audioCtx = null;
let running = null; // the AbortController of the synthesis in flight
let last = null; // {body, rate, samples, seed} of the last result
let urls = [];

function ctx() {
  if (!audioCtx) {
    try { audioCtx = new AudioContext(); } catch { audioCtx = null; }
  }
  if (audioCtx && audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  return audioCtx;
}

function status(text, busy = false) {
  $('status').textContent = text;
  $('result').setAttribute('aria-busy', String(busy));
}

function option(value, text = value) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

function current() { return models.find((m) => m.id === $('model').value); }

// bodyJSON serialises a request body; the seed goes in as written, since
// it is a 64-bit integer that a JavaScript number cannot hold.
export function bodyJSON(body) {
  const { seed, ...rest } = body;
  let s = JSON.stringify(rest);
  if (seed !== undefined && seed !== '') s = s.slice(0, -1) + (s.length > 2 ? ', ' : '') + '"seed": ' + seed + '}';
  return s;
}

function showModel() {
  const m = current();
  if (!m) return;
  const vocoder = !!m.local_conditioning;
  $('say-panel').hidden = vocoder;
  $('vocode-panel').hidden = !vocoder;
  $('result').dataset.mode = vocoder ? 'vocode' : 'say';
  $('model-info').textContent = `${m.sample_rate} Hz, ${m.layers} layers, receptive field ${m.receptive_field_ms.toFixed(1)} ms, ` +
    `${m.parameters.toLocaleString()} parameters, ${m.generator}` + (vocoder ? `, vocoder (${m.local_conditioning.channels} mels)` : '');
  const conds = $('conditions');
  conds.replaceChildren();
  const label = $('label');
  label.replaceChildren(option('', '(none)'));
  for (const c of m.conditions) {
    if (c.name === m.label_condition) {
      for (const v of c.values) label.append(option(v));
      continue;
    }
    const id = 'cond-' + c.name;
    const l = document.createElement('label');
    l.htmlFor = id;
    l.textContent = c.name === 'speaker' ? 'Voice (speaker)' : c.name;
    const sel = document.createElement('select');
    sel.id = id;
    sel.dataset.condition = c.name;
    for (const v of c.values) sel.append(option(v));
    const div = document.createElement('div');
    div.className = 'field';
    div.append(l, sel);
    conds.append(div);
  }
  $('label-field').hidden = !m.label_condition;
  $('text').disabled = !m.text_condition;
  $('text-help').textContent = m.text_condition
    ? 'Digits or number words, e.g. "4 2 7" or "four two seven".'
    : 'This model cannot say text: it has no digit condition. Give a length in seconds instead.';
  $('candidates').placeholder = m.candidates ? `default ${m.candidates}` : '';
  updateCurl();
}

async function loadModels() {
  const sel = $('model');
  try {
    const res = await apiFetch('/v1/models');
    if (!res.ok) throw new Error(await errorText(res));
    models = (await res.json()).models;
  } catch (e) {
    status('Could not list the models: ' + e.message + (String(e.message).startsWith('401') ? ' (set the API key above)' : ''));
    return;
  }
  const keep = sel.value;
  sel.replaceChildren(...models.map((m) => option(m.id, m.local_conditioning ? `${m.id} (vocoder)` : m.id)));
  if (models.some((m) => m.id === keep)) sel.value = keep;
  showModel();
  status(models.length ? 'Ready.' : 'The server has no model.');
}

function num(id) {
  const v = $(id).value.trim();
  return v === '' ? undefined : Number(v);
}

// requestBody is the POST /v1/synthesize body the form describes (without
// format and stream).
function requestBody() {
  const m = current();
  const body = { model: m.id };
  const conditions = {};
  for (const sel of $('conditions').querySelectorAll('select')) {
    if (sel.dataset.condition === 'speaker') body.speaker = sel.value;
    else conditions[sel.dataset.condition] = sel.value;
  }
  if (Object.keys(conditions).length) body.conditions = conditions;
  const text = $('text').value.trim();
  if (text && m.text_condition) {
    body.text = text;
    if (num('candidates') !== undefined) body.candidates = num('candidates');
  } else {
    if ($('label').value) body.label = $('label').value;
    body.seconds = num('seconds') ?? 1;
  }
  if (num('temperature') !== undefined) body.temperature = num('temperature');
  if (num('top-k') !== undefined) body.top_k = num('top-k');
  const seed = $('seed').value.trim();
  if (/^\d+$/.test(seed)) body.seed = seed;
  return body;
}

function shellQuote(s) { return "'" + s.replace(/'/g, "'\\''") + "'"; }

// curlFor is the curl command of a request, the key left as a variable.
function curlFor(path, body, out) {
  const auth = apiKey() ? ' -H "Authorization: Bearer $WAVENET_API_KEY"' : '';
  return `curl -o ${out}${auth} -d ${shellQuote(bodyJSON(body))} ${location.origin}${path}`;
}

// updateCurl shows the request of the last result (its seed included)
// or, with fromForm, the one the form describes now.
function updateCurl(fromForm = false) {
  if (!current() || current().local_conditioning) return;
  const body = last && !fromForm ? last.body : requestBody();
  $('curl').textContent = curlFor('/v1/synthesize', { ...body, format: 'wav' }, 'out.wav');
}

function release() {
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
}

function blobURL(blob) {
  const u = URL.createObjectURL(blob);
  urls.push(u);
  return u;
}

function draw(x) {
  drawWaveform($('waveform'), x);
  drawSpectrogram($('spectrogram'), x);
  $('spectrogram').dataset.drawn = 'true';
}

// synthesize streams the audio as raw 16-bit PCM and plays it as it
// arrives (PCMPlayer); at the end the whole is shown, drawn and offered.
async function synthesize(ev) {
  ev.preventDefault();
  if (running) running.abort();
  const ac = new AbortController();
  running = ac;
  const body = requestBody();
  const result = $('result');
  result.dataset.state = 'running';
  release();
  $('downloads').hidden = true;
  $('player').removeAttribute('src');
  status('Synthesizing…', true);
  let player = null;
  try {
    const res = await apiFetch('/v1/synthesize', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: bodyJSON({ ...body, format: 'pcm16', stream: true }), signal: ac.signal,
    });
    if (!res.ok) throw new Error(await errorText(res));
    const rate = Number(res.headers.get('X-Sample-Rate'));
    const seed = res.headers.get('X-Seed');
    player = new PCMPlayer(ctx(), rate);
    const reader = res.body.getReader();
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      player.push(value);
      result.dataset.chunks = String(++chunks);
      status(`Playing while it arrives: ${(player.length / rate).toFixed(2)} s so far…`, true);
    }
    const x = player.samples();
    last = { body: { ...body, seed }, rate, samples: x, seed };
    $('seed-out').textContent = seed;
    $('conditions-out').textContent = res.headers.get('X-Conditions') || '';
    const seconds = x.length / rate;
    result.dataset.duration = String(seconds);
    result.dataset.headerDuration = res.headers.get('X-Audio-Duration') || '';
    result.dataset.seed = seed;
    result.dataset.rate = String(rate);
    $('player').src = blobURL(encodeWAV(x, rate));
    draw(x);
    $('downloads').hidden = false;
    updateCurl();
    status(`Done: ${seconds.toFixed(3)} s at ${rate} Hz, seed ${seed}.`);
    result.dataset.state = 'done';
  } catch (e) {
    if (player) player.stop();
    result.dataset.state = 'error';
    status(e.name === 'AbortError' ? 'Stopped.' : 'Synthesis failed: ' + e.message);
  } finally {
    if (running === ac) running = null;
  }
}

function save(blob, name) {
  const a = document.createElement('a');
  a.href = blobURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  $('download-state').textContent = `Saved ${name}: ${blob.size} bytes, ${blob.type}.`;
}

const extensions = { wav: 'wav', flac: 'flac', mulaw: 'ul' };

// download saves the last result: WAV encoded here from the samples
// received; FLAC and mu-law asked again of the server with the same seed
// (the same request and seed give the same audio).
async function download() {
  if (!last) return;
  const format = $('download-format').value;
  const name = `wavenet-${last.seed}.${extensions[format]}`;
  if (format === 'wav') {
    save(encodeWAV(last.samples, last.rate), name);
    return;
  }
  $('download-state').textContent = `Encoding as ${format}…`;
  const res = await apiFetch('/v1/synthesize', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bodyJSON({ ...last.body, format }),
  });
  if (!res.ok) {
    $('download-state').textContent = 'Download failed: ' + await errorText(res);
    return;
  }
  save(await res.blob(), name);
}

// --- vocoder: copy synthesis of a clip ---

let recorder = null;

async function toWAV(blob) {
  if (blob.type === 'audio/wav' || blob.type === 'audio/x-wav' || blob.type === 'audio/flac') return blob;
  const buf = await ctx().decodeAudioData(await blob.arrayBuffer());
  return encodeWAV(mono(buf), buf.sampleRate);
}

async function vocode(clip) {
  const m = current();
  const out = $('vocode-status');
  try {
    out.textContent = 'Copy synthesis…';
    const wav = await toWAV(clip);
    $('original').src = blobURL(wav);
    const q = new URLSearchParams({ model: m.id, format: 'wav' });
    const seed = $('seed').value.trim();
    if (/^\d+$/.test(seed)) q.set('seed', seed);
    const res = await apiFetch('/v1/vocode?' + q, { method: 'POST', headers: { 'Content-Type': wav.type || 'audio/wav' }, body: wav });
    if (!res.ok) throw new Error(await errorText(res));
    const copy = await res.blob();
    $('copy').src = blobURL(copy);
    $('seed-out').textContent = res.headers.get('X-Seed') || '';
    const pcm = decodeWAV16(await copy.arrayBuffer());
    if (pcm) draw(pcm.samples);
    out.textContent = `Done: ${res.headers.get('X-Audio-Duration') || '?'} s, seed ${res.headers.get('X-Seed')}.`;
  } catch (e) {
    out.textContent = 'Copy synthesis failed: ' + e.message;
  }
}

async function record() {
  const btn = $('record');
  if (recorder) {
    recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    $('vocode-status').textContent = 'No microphone: ' + e.message;
    return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.onstop = () => {
    for (const t of stream.getTracks()) t.stop();
    recorder = null;
    btn.textContent = 'Record';
    btn.setAttribute('aria-pressed', 'false');
    vocode(new Blob(chunks, { type: chunks[0]?.type || 'audio/webm' }));
  };
  recorder.start();
  btn.textContent = 'Stop recording';
  btn.setAttribute('aria-pressed', 'true');
  $('vocode-status').textContent = 'Recording… press again to stop.';
}

export function initStudio() {
  $('model').addEventListener('change', () => { last = null; showModel(); });
  $('say-form').addEventListener('submit', synthesize);
  $('say-form').addEventListener('input', () => { if (!running) updateCurl(true); });
  $('stop').addEventListener('click', () => running && running.abort());
  $('reuse-seed').addEventListener('click', () => { $('seed').value = $('seed-out').textContent; $('seed').focus(); });
  $('download').addEventListener('click', download);
  $('copy-curl').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('curl').textContent);
      $('curl-state').textContent = 'Copied.';
    } catch {
      getSelection().selectAllChildren($('curl'));
      $('curl-state').textContent = 'Selected: press Ctrl+C to copy.';
    }
  });
  $('vocode-file').addEventListener('change', (e) => { if (e.target.files[0]) vocode(e.target.files[0]); });
  $('record').addEventListener('click', record);
  document.addEventListener('apikeychange', loadModels);
  loadModels();
}
