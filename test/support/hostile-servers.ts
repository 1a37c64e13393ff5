// Misbehaving servers on 127.0.0.1 for hostile-input tests: hangs, resets, trickles, floods, lies.
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { startServer, type TestServer } from './fixture-server';

/** A TCP listener that runs `onSocket` for each connection (no HTTP at all). */
export async function startTcpServer(onSocket: (s: Socket) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Accepts connections and reads requests, never answers. */
export const startSilentServer = (): Promise<TestServer> => startTcpServer(() => undefined);

/** Resets every connection (TCP RST) as soon as a request arrives. */
export const startResetServer = (): Promise<TestServer> =>
  startTcpServer((s) => {
    s.once('data', () => s.resetAndDestroy());
  });

/** Every path: headers at once, then one body byte per `intervalMs`, never finishing (slow-loris). */
export async function startSlowLorisServer(intervalMs = 1000): Promise<TestServer> {
  const timers = new Set<NodeJS.Timeout>();
  const srv = await startServer({}, (_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    res.write('{');
    const t = setInterval(() => res.write(' '), intervalMs);
    timers.add(t);
    res.on('close', () => clearInterval(t));
  });
  return {
    ...srv,
    close: async () => {
      for (const t of timers) clearInterval(t);
      await srv.close();
    },
  };
}

/** Every path answers with the same status, headers and body. */
export function startConstantServer(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }, status = 200): Promise<TestServer> {
  return startServer({}, (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  });
}

/** Every path streams `bytes` of a valid-looking JSON array without a Content-Length (chunked). */
export function startFloodServer(bytes: number, declareLength: boolean): Promise<TestServer> {
  const chunk = '"' + 'x'.repeat(64 * 1024 - 3) + '",';
  return startServer({}, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(bytes) } : {}) });
    res.write('{"data":[');
    let sent = 9;
    const pump = (): void => {
      while (sent + chunk.length < bytes) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end('""]}'.padStart(bytes - sent, ' '));
    };
    res.on('error', () => undefined);
    pump();
  });
}
