// A webhook receiver for Alertmanager on 127.0.0.1 that records every notification.
//
//   node webhook.mjs PORT_FILE
//
// Listens on 127.0.0.1 on a free port and writes the port to PORT_FILE once it listens.
//   POST /<anything>    an Alertmanager webhook notification: recorded, answered 200
//   GET  /_deliveries   the recorded notifications, oldest first:
//                       [{path, receiver, status, groupKey, alerts: [{alertname, status, labels}]}]
//   POST /_reset        forget them
// Exits on SIGTERM/SIGINT.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const portFile = process.argv[2];
if (!portFile) {
  console.error('usage: node webhook.mjs PORT_FILE');
  process.exit(2);
}

let deliveries = [];

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const reply = (code, body) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/_deliveries') return reply(200, deliveries);
    if (req.method === 'POST' && req.url === '/_reset') {
      deliveries = [];
      return reply(200, {});
    }
    if (req.method !== 'POST') return reply(405, { error: 'POST only' });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      return reply(400, { error: `not JSON: ${e.message}` });
    }
    deliveries.push({
      path: decodeURIComponent(req.url),
      receiver: body.receiver,
      status: body.status,
      groupKey: body.groupKey,
      alerts: (body.alerts ?? []).map((a) => ({ alertname: a.labels?.alertname, status: a.status, labels: a.labels })),
    });
    return reply(200, {});
  });
});

server.listen(0, '127.0.0.1', () => writeFileSync(portFile, `${server.address().port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
