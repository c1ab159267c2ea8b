/**
 * HTTP/2 abuse probes with python3-h2 (test/probes/h2flood.py): rapid reset (CVE-2023-44487),
 * PING and SETTINGS floods, a CONTINUATION flood. The abuser's session ends (GOAWAY
 * ENHANCE_YOUR_CALM, or the connection is cut), the server survives, and a client connected
 * before the attack keeps being served, over TLS and h2c.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import http2 from 'node:http2';
import { E, type RapidError } from '../../src/core/errors.js';
import { serve, type RapidServer } from '../../src/server/server.js';
import { projectRoot } from '../helpers/paths.js';
import { cleanupCerts, h2connect, h2request, makeCert, pythonH2, run } from '../helpers/tls.js';

after(cleanupCerts);
const probe = join(projectRoot, 'test', 'probes', 'h2flood.py');
const CALM = http2.constants.NGHTTP2_ENHANCE_YOUR_CALM;
/**
 * Rapid's counters end an abusive session with ENHANCE_YOUR_CALM. nghttp2 has guards of its own
 * (a queue of unanswered control frames, a stream-reset rate) that end it with INTERNAL_ERROR;
 * when a whole flood arrives in one read (h2c reads through JavaScript in large chunks) either
 * may be first. Both mean the abuser is gone.
 */
function calmed(r: ProbeResult): void {
  assert.equal(r.closed, true);
  if (r.goaway !== null) {
    assert.ok(
      r.goaway === CALM || r.goaway === http2.constants.NGHTTP2_INTERNAL_ERROR,
      `GOAWAY ${r.goaway}`,
    );
  } else {
    // The GOAWAY can be lost when the socket closes while the abuser is still sending (its
    // kernel drops unread data on the reset); Rapid's own report says why it went.
    assert.equal(r.reported, true);
  }
}

interface ProbeResult {
  goaway: number | null;
  closed: boolean;
  sent: number;
  /** Rapid reported RAPID_ERR_HTTP2_ABUSE during this probe. */
  reported?: boolean;
}

for (const [transport, engine] of [
  ['tls', 'rapid'],
  ['h2c', 'rapid'],
  ['tls', 'node'],
  ['h2c', 'node'],
] as const) {
  describe(
    `HTTP/2 flood defences (${transport}, ${engine} engine)`,
    { skip: pythonH2 === null && 'python3-h2 missing' },
    () => {
      let server: RapidServer;
      let bystander: http2.ClientHttp2Session;
      const errors: unknown[] = [];
      const cert = makeCert('localhost');

      const flood = async (mode: string, count: number): Promise<ProbeResult> => {
        const seen = errors.length;
        const r = await run(
          pythonH2 as string,
          [probe, '127.0.0.1', String(server.port), transport, mode, String(count)],
          90_000,
        );
        assert.equal(r.code, 0, r.stderr);
        const reported = errors
          .slice(seen)
          .some((e) => (e as RapidError).code === E.HTTP2_ABUSE.code);
        return { ...(JSON.parse(r.stdout) as ProbeResult), reported };
      };

      const stillServed = async (): Promise<void> => {
        assert.equal((await h2request(bystander, { ':path': '/still' })).status, 200);
        const fresh = await h2connect(
          `${transport === 'tls' ? 'https' : 'http'}://127.0.0.1:${server.port}`,
        );
        try {
          assert.equal((await h2request(fresh, { ':path': '/fresh' })).status, 200);
        } finally {
          fresh.destroy();
        }
      };

      it('starts', async () => {
        server = await serve({
          port: 0,
          host: '127.0.0.1',
          handler: (_req, res) => res.send('ok'),
          onError: (err) => errors.push(err),
          http2Engine: engine,
          ...(transport === 'tls' ? { tls: { cert: cert.cert, key: cert.key } } : { h2c: true }),
        });
        bystander = await h2connect(
          `${transport === 'tls' ? 'https' : 'http'}://127.0.0.1:${server.port}`,
        );
        assert.equal((await h2request(bystander, { ':path': '/' })).status, 200);
      });

      after(async () => {
        bystander?.destroy();
        await server?.close(1000);
      });

      it('rapid reset: the abuser gets GOAWAY', async () => {
        const r = await flood('rapid-reset', 2000);
        calmed(r);
        if (r.goaway === CALM)
          assert.ok(errors.some((e) => (e as RapidError).code === E.HTTP2_ABUSE.code));
        await stillServed();
      });

      it('PING flood: the abuser gets GOAWAY', async () => {
        calmed(await flood('ping', 2000));
        await stillServed();
      });

      it('SETTINGS flood: the abuser gets GOAWAY', async () => {
        calmed(await flood('settings', 2000));
        await stillServed();
      });

      it('CONTINUATION flood: the connection is cut', async () => {
        // Cut by the header list limit or nghttp2's CONTINUATION cap: GOAWAY or a closed socket.
        const r = await flood('continuation', 5000);
        assert.equal(r.closed, true);
        await stillServed();
      });
    },
  );
}
