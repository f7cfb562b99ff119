// The yardstick beside `imagesync plan` in bench scenario 1: the very requests the plan made (a token, then every listing at
// once), from Node's own http module and nothing else: no manifest, no diff, no output. Plain CommonJS: nothing to load.
'use strict';
const http = require('node:http');
const { readFileSync } = require('node:fs');

const { auth, lists } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function send(url, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode < 200 || res.statusCode > 299) return reject(new Error(`${method} ${url} → ${res.statusCode}`));
        resolve({ headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

(async () => {
  const token = await send(auth.url, 'POST', { 'content-type': 'application/json', accept: 'application/json' }, JSON.stringify(auth.body));
  const headers = { 'x-auth-token': token.headers['x-subject-token'], accept: 'application/json' };
  const answers = await Promise.all(lists.map((url) => send(url, 'GET', headers)));
  process.stdout.write(`${answers.length} lists\n`);
  agent.destroy();
})().catch((err) => {
  process.stderr.write(`bare-client: ${err.message}\n`);
  process.exitCode = 1;
});
