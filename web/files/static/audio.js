// Audio on the page: playing raw PCM while it arrives, WAV encoding, and
// the waveform and spectrogram drawings. No dependencies.

// PCMPlayer plays raw signed 16-bit little-endian mono PCM at `rate` Hz as
// it arrives: each chunk becomes an AudioBuffer scheduled right after the
// previous one on one AudioContext clock, so playback starts with the
// first chunk and has no gaps while the network keeps ahead of it.
export class PCMPlayer {
  constructor(ctx, rate) {
    this.ctx = ctx;
    this.rate = rate;
    this.next = 0; // AudioContext time at which the next chunk starts
    this.carry = null; // an odd trailing byte of the previous chunk
    this.parts = []; // Float32Arrays received, in order
    this.length = 0;
    this.sources = [];
  }

  // push decodes bytes (a Uint8Array) and schedules them.
  push(bytes) {
    if (this.carry !== null) {
      const b = new Uint8Array(bytes.length + 1);
      b[0] = this.carry;
      b.set(bytes, 1);
      bytes = b;
      this.carry = null;
    }
    if (bytes.length % 2 === 1) {
      this.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const n = bytes.length / 2;
    if (n === 0) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = view.getInt16(2 * i, true) / 32768;
    this.parts.push(x);
    this.length += n;
    if (!this.ctx) return;
    const buf = this.ctx.createBuffer(1, n, this.rate);
    buf.copyToChannel(x, 0);
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.ctx.destination);
    // A small lead (50 ms) on the first chunk and after an underrun.
    const start = Math.max(this.next, this.ctx.currentTime + 0.05);
    src.start(start);
    this.next = start + buf.duration;
    this.sources.push(src);
  }

  // samples returns everything received as one Float32Array.
  samples() {
    const out = new Float32Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  stop() {
    for (const s of this.sources) {
      try { s.stop(); } catch { /* not started yet */ }
    }
    this.sources = [];
  }
}

// encodeWAV returns a 16-bit PCM mono WAV of x (floats in [-1, 1]) at rate.
export function encodeWAV(x, rate) {
  const b = new ArrayBuffer(44 + 2 * x.length);
  const v = new DataView(b);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); v.setUint32(4, 36 + 2 * x.length, true); str(8, 'WAVE');
  str(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, 2 * rate, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  str(36, 'data'); v.setUint32(40, 2 * x.length, true);
  for (let i = 0; i < x.length; i++) {
    const s = Math.max(-1, Math.min(1, x[i]));
    v.setInt16(44 + 2 * i, s < 0 ? Math.round(s * 32768) : Math.round(s * 32767), true);
  }
  return new Blob([b], { type: 'audio/wav' });
}

// mono averages an AudioBuffer's channels.
export function mono(buf) {
  const x = new Float32Array(buf.length);
  for (let c = 0; c < buf.numberOfChannels; c++) {
    const d = buf.getChannelData(c);
    for (let i = 0; i < x.length; i++) x[i] += d[i] / buf.numberOfChannels;
  }
  return x;
}

function cssColor(canvas, name, fallback) {
  return getComputedStyle(canvas).getPropertyValue(name).trim() || fallback;
}

// drawWaveform draws x as min/max columns, one per pixel.
export function drawWaveform(canvas, x) {
  const g = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  g.fillStyle = cssColor(canvas, '--canvas-bg', '#fff');
  g.fillRect(0, 0, w, h);
  g.fillStyle = cssColor(canvas, '--wave', '#1f5fbf');
  if (x.length === 0) return;
  const per = x.length / w;
  for (let px = 0; px < w; px++) {
    let lo = 1, hi = -1;
    const end = Math.min(x.length, Math.floor((px + 1) * per) + 1);
    for (let i = Math.floor(px * per); i < end; i++) {
      if (x[i] < lo) lo = x[i];
      if (x[i] > hi) hi = x[i];
    }
    if (hi < lo) continue;
    const y0 = (1 - hi) * h / 2, y1 = (1 - lo) * h / 2;
    g.fillRect(px, y0, 1, Math.max(1, y1 - y0));
  }
}

// fft computes an in-place radix-2 FFT of (re, im); n a power of two.
function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = -2 * Math.PI / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k), wi = Math.sin(ang * k);
        const a = i + k, b = i + k + len / 2;
        const tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
      }
    }
  }
}

// spectrogram returns the STFT power in dB of x: frames of nfft samples
// (Hann window) every hop, each nfft/2+1 bins.
export function spectrogram(x, nfft = 256, hop = 64) {
  const win = new Float32Array(nfft);
  for (let i = 0; i < nfft; i++) win[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / nfft);
  const frames = [];
  const re = new Float64Array(nfft), im = new Float64Array(nfft);
  for (let start = 0; start + nfft <= Math.max(x.length, nfft); start += hop) {
    for (let i = 0; i < nfft; i++) {
      re[i] = (x[start + i] || 0) * win[i];
      im[i] = 0;
    }
    fft(re, im);
    const f = new Float32Array(nfft / 2 + 1);
    for (let k = 0; k <= nfft / 2; k++) f[k] = 10 * Math.log10(re[k] * re[k] + im[k] * im[k] + 1e-10);
    frames.push(f);
  }
  return frames;
}

// drawSpectrogram draws spectrogram(x) with time left to right and
// frequency bottom to top, 80 dB of range below the loudest bin.
export function drawSpectrogram(canvas, x) {
  const g = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  const frames = spectrogram(x);
  let max = -Infinity;
  for (const f of frames) for (const v of f) if (v > max) max = v;
  const img = g.createImageData(w, h);
  const bins = frames[0].length;
  for (let px = 0; px < w; px++) {
    const f = frames[Math.min(frames.length - 1, Math.floor(px * frames.length / w))];
    for (let py = 0; py < h; py++) {
      const v = f[Math.min(bins - 1, Math.floor((h - 1 - py) * bins / h))];
      const t = Math.max(0, Math.min(1, (v - max + 80) / 80));
      const o = 4 * (py * w + px);
      // dark blue -> orange -> pale yellow
      img.data[o] = Math.round(255 * Math.min(1, 1.6 * t));
      img.data[o + 1] = Math.round(255 * t * t);
      img.data[o + 2] = Math.round(90 * (1 - t) + 120 * t * t * t);
      img.data[o + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
}

// decodeWAV16 reads a 16-bit PCM WAV (the service's "wav" format) as mono
// floats: {samples, rate}, or null for anything else. Unlike
// AudioContext.decodeAudioData it keeps the file's own rate.
export function decodeWAV16(buf) {
  const v = new DataView(buf);
  if (buf.byteLength < 12 || v.getUint32(0, false) !== 0x52494646 || v.getUint32(8, false) !== 0x57415645) return null;
  let rate = 0, channels = 0, bits = 0;
  for (let o = 12; o + 8 <= buf.byteLength;) {
    const id = v.getUint32(o, false);
    let size = v.getUint32(o + 4, true);
    if (id === 0x666d7420) { // "fmt "
      channels = v.getUint16(o + 10, true);
      rate = v.getUint32(o + 12, true);
      bits = v.getUint16(o + 22, true);
    } else if (id === 0x64617461) { // "data"
      if (bits !== 16 || channels < 1) return null;
      size = Math.min(size, buf.byteLength - o - 8); // a streamed WAV declares 0xFFFFFFFF
      const n = Math.floor(size / (2 * channels));
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < channels; c++) s += v.getInt16(o + 8 + 2 * (i * channels + c), true);
        x[i] = s / channels / 32768;
      }
      return { samples: x, rate };
    }
    o += 8 + size + (size & 1);
  }
  return null;
}
