/**
 * The bcrypt verifier thread (see htpasswd.ts): bcrypt is slow by design (tens of milliseconds
 * per check at common costs), so it runs here instead of stalling every connection of the server.
 * Messages: { id, password, hash } in, { id, ok } out.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

interface Job {
  id: number;
  password: string;
  hash: string;
}

parentPort?.on('message', (job: Job) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(job.password, job.hash);
  } catch {
    ok = false;
  }
  parentPort?.postMessage({ id: job.id, ok });
});
