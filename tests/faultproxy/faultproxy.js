#!/usr/bin/env node
// A fault-injecting HTTP proxy for tests: sits on 127.0.0.1 between docfs and the test S3
// server and, when told to, breaks the next requests in a chosen way.
//
//   node faultproxy.js LISTEN_PORT TARGET_PORT
//
// Control (answered by the proxy itself, never forwarded):
//   GET /__fault?mode=MODE&count=N[&match=SUBSTRING][&delay_ms=D][&after_bytes=B]
//   GET /__fault/stats      -> JSON {requests, faults_injected, armed}
// Modes, applied to the next N requests whose "METHOD URL" contains SUBSTRING:
//   status500 | status503 | slowdown (503 SlowDown XML) | throttle429
//   reset          close the connection before answering
//   cut_request    swallow the request body partway and close (upload interrupted)
//   cut_response   forward the answer but close after B bytes of body (default 100)
//   delay          wait D ms before forwarding
//   none           disarm
'use strict';
const http = require('http');

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
if (!listenPort || !targetPort) {
  console.error('usage: faultproxy.js LISTEN_PORT TARGET_PORT');
  process.exit(2);
}

let armed = { mode: 'none', count: 0, match: '', delayMs: 0, afterBytes: 100 };
const stats = { requests: 0, faults_injected: 0 };

function takeFault(req) {
  if (armed.count <= 0 || armed.mode === 'none') return null;
  if (armed.match && !`${req.method} ${req.url}`.includes(armed.match)) return null;
  armed.count -= 1;
  stats.faults_injected += 1;
  return { ...armed };
}

function errorXml(code, message) {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

function forward(req, res, fault) {
  const upstream = http.request(
    { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      if (fault && fault.mode === 'cut_response') {
        res.writeHead(up.statusCode, up.headers);
        let sent = 0;
        up.on('data', (chunk) => {
          if (sent >= fault.afterBytes) return;
          const part = chunk.subarray(0, Math.max(0, fault.afterBytes - sent));
          sent += part.length;
          res.write(part);
          if (sent >= fault.afterBytes) { res.socket.destroy(); up.destroy(); }
        });
        up.on('end', () => res.socket && res.socket.destroy());
        return;
      }
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
  upstream.on('error', () => res.socket && res.socket.destroy());
  if (fault && fault.mode === 'cut_request') {
    let seen = 0;
    req.on('data', (chunk) => {
      seen += chunk.length;
      upstream.write(chunk.subarray(0, Math.max(0, fault.afterBytes - (seen - chunk.length))));
      if (seen >= fault.afterBytes) { upstream.destroy(); req.socket.destroy(); }
    });
    req.on('end', () => { upstream.destroy(); req.socket.destroy(); });
    return;
  }
  req.pipe(upstream);
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/__fault')) {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/__fault/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...stats, armed }));
      return;
    }
    const q = url.searchParams;
    armed = {
      mode: q.get('mode') || 'none',
      count: Number(q.get('count') || 1),
      match: q.get('match') || '',
      delayMs: Number(q.get('delay_ms') || 0),
      afterBytes: Number(q.get('after_bytes') || 100),
    };
    res.writeHead(200);
    res.end('armed\n');
    return;
  }
  stats.requests += 1;
  const fault = takeFault(req);
  const reply = (status, code, message) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(errorXml(code, message));
  };
  switch (fault && fault.mode) {
    case 'status500': return reply(500, 'InternalError', 'injected by faultproxy');
    case 'status503': return reply(503, 'ServiceUnavailable', 'injected by faultproxy');
    case 'slowdown': return reply(503, 'SlowDown', 'Please reduce your request rate.');
    case 'throttle429': return reply(429, 'TooManyRequests', 'injected by faultproxy');
    case 'reset': req.resume(); return req.socket.destroy();
    case 'delay': return setTimeout(() => forward(req, res, null), fault.delayMs);
    default: return forward(req, res, fault);
  }
});
server.keepAliveTimeout = 5000;
server.listen(listenPort, '127.0.0.1', () => console.log(`faultproxy listening on ${listenPort} -> ${targetPort}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
