import type { IncomingMessage } from 'node:http';

/** Request bodies above this size are refused (60002); 500 IDs of 32 bytes are about 20 KB. */
export const MAX_BODY_BYTES = 1 << 20;

/** Reads a request body up to MAX_BODY_BYTES; `undefined` when it was larger (the rest is read and dropped). */
export function readCallBody(req: IncomingMessage, onBody: (body: string | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => onBody(size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined));
}
