// The page's entry point: the API key, the views and their navigation.
import { initStudio } from './studio.js';
import { initHealth } from './health.js';
import { initListening } from './listening.js';
import { apiKey, KEY } from './api.js';

function initKey() {
  const input = document.getElementById('api-key');
  const state = document.getElementById('api-key-state');
  const show = () => { state.textContent = apiKey() ? 'key set for this tab' : 'no key'; };
  input.value = apiKey();
  document.getElementById('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = input.value.trim();
    if (k) sessionStorage.setItem(KEY, k); else sessionStorage.removeItem(KEY);
    show();
    document.dispatchEvent(new Event('apikeychange'));
  });
  show();
}

// The views, by the first part of the hash: #listen/ID and #results/ID
// are a listening test's listener and results views, under the
// "Listening tests" link.
const views = ['studio', 'health', 'listening', 'listen', 'results'];
const navOf = { listen: 'listening', results: 'listening' };

function route() {
  const first = location.hash.slice(1).split('/')[0];
  const name = views.includes(first) ? first : 'studio';
  for (const v of views) {
    document.getElementById(v).hidden = v !== name;
    const link = document.querySelector(`nav a[href="#${v}"]`);
    if (!link) continue;
    if (v === (navOf[name] || name)) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  document.dispatchEvent(new CustomEvent('viewchange', { detail: name }));
}

initKey();
initListening();
window.addEventListener('hashchange', route);
route();
initStudio();
initHealth();
