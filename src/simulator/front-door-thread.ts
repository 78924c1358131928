/**
 * The thread of front-door.ts: accepts connections, reads each call, stamps its arrival and hands it to the main
 * thread; writes the answers it gets back. Nothing else runs here, so a stamp is taken when the call arrives.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { readCallBody } from './call-body.js';
import { arrivalClock, type FromFrontDoor, type FrontDoorSettings, type ToFrontDoor } from './front-door.js';

const port = parentPort!;
const settings = workerData as FrontDoorSettings;
const post = (message: FromFrontDoor): void => port.postMessage(message);
const open = new Map<number, ServerResponse>();
let nextId = 1;

const server = createServer((req, res) => {
  const id = nextId++;
  open.set(id, res);
  res.on('close', () => open.delete(id));
  req.on('error', () => res.destroy());
  readCallBody(req, (body) =>
    post({ type: 'call', id, method: req.method, url: req.url, body, arrivedAtMs: arrivalClock() }),
  );
});
server.keepAliveTimeout = settings.keepAliveTimeoutMs;
server.on('error', (error) => post({ type: 'failed', message: error.message }));
server.listen(settings.port, settings.host, () =>
  post({ type: 'listening', address: server.address() as AddressInfo }),
);

port.on('message', (message: ToFrontDoor) => {
  const res = open.get(message.id);
  if (!res || res.destroyed || res.writableEnded) return;
  if (message.type === 'reset') {
    res.socket?.destroy();
    return;
  }
  res.writeHead(message.status, {
    'content-type': message.contentType,
    'content-length': Buffer.byteLength(message.body),
  });
  res.end(message.body);
});
