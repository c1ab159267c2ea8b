/**
 * TCP listeners. SO_REUSEPORT (`reusePort`) is used only where the running Node supports it
 * (22.12+ / 23.1+); elsewhere the option is ignored and the cluster module shares the handle.
 */
import net from 'node:net';
import { E, RapidError } from '../core/errors.js';

export interface ListenOptions {
  host?: string;
  port?: number;
  /** A Unix domain socket path instead of host/port. */
  path?: string;
  backlog?: number;
  reusePort?: boolean;
  ipv6Only?: boolean;
}

/** True when this Node accepts `reusePort` in server.listen(). */
export function hasReusePort(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/**
 * Listen; `create` makes a server other than a plain net.Server (tls.Server: `onSocket` is then
 * called with each socket whose handshake is done).
 */
export function listen<S extends net.Server = net.Server>(
  opts: ListenOptions,
  onSocket: (socket: net.Socket) => void,
  create?: (onSocket: (socket: net.Socket) => void) => S,
): Promise<S> {
  // allowHalfOpen: a client that half-closes after its request still gets the response.
  const server =
    create !== undefined
      ? create(onSocket)
      : (net.createServer({ noDelay: true, allowHalfOpen: true }, onSocket) as S);
  const listenOpts: net.ListenOptions & { reusePort?: boolean } = {
    backlog: opts.backlog ?? 2048,
  };
  if (opts.path !== undefined) listenOpts.path = opts.path;
  else {
    listenOpts.host = opts.host ?? '0.0.0.0';
    listenOpts.port = opts.port ?? 8080;
    if (opts.ipv6Only !== undefined) listenOpts.ipv6Only = opts.ipv6Only;
    if (opts.reusePort === true && hasReusePort()) {
      listenOpts.reusePort = true;
      // In a cluster worker, bind a socket of its own (the kernel balances between them)
      // instead of asking the primary for its shared handle.
      listenOpts.exclusive = true;
    }
  }
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = opts.path ?? `${listenOpts.host}:${listenOpts.port}`;
      reject(
        new RapidError(E.LISTEN_FAILED, `${where}: ${err.code ?? err.message}`, { cause: err }),
      );
    };
    server.once('error', onError);
    server.listen(listenOpts, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}
