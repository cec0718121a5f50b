/** Free TCP ports on 127.0.0.1 for the sandbox's server and etcd. */
import net from 'node:net';

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port the kernel picks as free on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `preferred` when free, else any free port (0: any). */
export async function pickPort(preferred?: number): Promise<number> {
  if (preferred !== undefined && preferred > 0 && (await portFree(preferred))) return preferred;
  return freePort();
}
