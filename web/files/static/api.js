// Requests to the service, with the API key of this browser session.

export const KEY = 'wavenet.apiKey';

// apiFetch is fetch with the API key of this browser session, when one is
// given, as "Authorization: Bearer KEY".
export function apiFetch(url, init = {}) {
  const headers = new Headers(init.headers || {});
  const key = sessionStorage.getItem(KEY);
  if (key) headers.set('Authorization', 'Bearer ' + key);
  return fetch(url, { ...init, headers });
}

// apiKey returns the key in use ('' for none).
export function apiKey() { return sessionStorage.getItem(KEY) || ''; }

// errorText reads the service's JSON error shape, or the status line.
export async function errorText(res) {
  try {
    const j = await res.json();
    if (j && j.error && j.error.message) return `${res.status}: ${j.error.message}`;
  } catch { /* not JSON */ }
  return `${res.status} ${res.statusText}`;
}
