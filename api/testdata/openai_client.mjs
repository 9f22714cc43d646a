// openai_client.mjs drives the official openai npm package against this
// server: node openai_client.mjs NODE_DIR BASE_URL API_KEY OUT_DIR.
// NODE_DIR holds node_modules/openai (npm install openai@VERSION there).
// For every response format, whole and with stream_format audio and sse,
// it writes the body to OUT_DIR/FORMAT-STREAM.bin; results.json records
// the chunks read and the error a bad voice raises. api's
// TestOpenAINodeClient checks the files.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [nodeDir, baseURL, apiKey, outDir] = process.argv.slice(2);
const require = createRequire(join(nodeDir, 'package.json'));
const { OpenAI } = require('openai');
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const pkg = JSON.parse(readFileSync(join(nodeDir, 'node_modules', 'openai', 'package.json'), 'utf8'));
const results = { version: pkg.version, files: {} };

for (const format of ['wav', 'flac', 'pcm', 'mulaw', 'alaw', 'float32']) {
  for (const streamFormat of ['', 'audio', 'sse']) {
    const params = { model: 'tts-1', voice: 'jackson', input: '4, 2', response_format: format };
    if (streamFormat) params.stream_format = streamFormat;
    const res = await client.audio.speech.create(params, { headers: { 'X-Seed': '9' } });
    const chunks = [];
    for await (const chunk of res.body) chunks.push(Buffer.from(chunk));
    const name = `${format}-${streamFormat || 'whole'}`;
    writeFileSync(join(outDir, name + '.bin'), Buffer.concat(chunks));
    results.files[name] = { chunks: chunks.length, seed: res.headers.get('x-seed'), contentType: res.headers.get('content-type') };
  }
}

try {
  await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: '1' });
  results.error = 'none';
} catch (e) {
  results.error = { status: e.status, message: e.error?.message, param: e.error?.param, type: e.error?.type, code: e.code };
}
writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2));
