/**
 * The set of live connections of one server: timeouts (one sweep for all, no timer per
 * connection) and graceful shutdown.
 */
import { addSweeper } from '../util/clock.js';

/** What the registry needs from a connection, whatever its protocol. */
export interface TrackedConnection {
  /** Called by the sweep; the connection compares `now` with its own deadline. */
  checkTimeout(now: number): void;
  /**
   * Stop taking requests; close when idle. An idle connection closes at once, or after
   * `idleGraceMs` during which a request that was already on its way is still answered (with
   * Connection: close) instead of being lost in the close.
   */
  shutdown(idleGraceMs?: number): void;
  /** Close immediately. */
  destroy(): void;
}

export class ConnectionRegistry<C extends TrackedConnection = TrackedConnection> {
  readonly connections = new Set<C>();
  private removeSweeper: (() => void) | null = null;
  private emptyWaiters: (() => void)[] = [];

  add(conn: C): void {
    this.connections.add(conn);
    if (this.removeSweeper === null) {
      this.removeSweeper = addSweeper((now) => {
        for (const c of this.connections) c.checkTimeout(now);
      });
    }
  }

  delete(conn: C): void {
    this.connections.delete(conn);
    if (this.connections.size === 0) {
      const waiters = this.emptyWaiters;
      this.emptyWaiters = [];
      for (const w of waiters) w();
    }
  }

  get size(): number {
    return this.connections.size;
  }

  /**
   * Ask every connection to finish what it is doing and close; after `timeoutMs`, destroy the
   * rest. Resolves when none is left. `idleGraceMs`: see TrackedConnection.shutdown.
   */
  async drain(timeoutMs: number, idleGraceMs = 0): Promise<void> {
    for (const c of this.connections) c.shutdown(idleGraceMs);
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          for (const c of this.connections) c.destroy();
        }, timeoutMs);
        t.unref();
        this.emptyWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.stop();
  }

  stop(): void {
    if (this.removeSweeper !== null) {
      this.removeSweeper();
      this.removeSweeper = null;
    }
  }
}
