/**
 * What the access rules and the header/redirect/rewrite rules (src/features/rules) share: option
 * checks and the small plain-text answers they send.
 */
import { E, RapidError, type ErrorSpec } from '../../core/errors.js';
import type { RapidResponse } from '../../core/types.js';

/** The `next` of a feature handler: the rest of the chain. */
export type RuleNext = () => void | Promise<void>;

export type Fail = (what: string, why: string) => never;

/** Refuse settings a rule does not know (a typo would otherwise be silently ignored). */
export function checkKeys(o: object, allowed: ReadonlySet<string>, what: string, fail: Fail): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) fail(what, `unknown setting ${JSON.stringify(k)}`);
  }
}

/** Answer with a catalog entry as plain text. */
export function refuse(res: RapidResponse, spec: ErrorSpec): void {
  res.status(spec.status);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.send(`${spec.message}\n`);
}

/** Go on with `next`, or answer 404 when the handler is used alone. */
export function passOn(res: RapidResponse, next: RuleNext | undefined): void | Promise<void> {
  if (next !== undefined) return next();
  refuse(res, E.ROUTER_NOT_FOUND);
}

/** A thrower for one catalog entry: `fail('rules[0].from', 'must be …')`. */
export function failWith(spec: ErrorSpec): Fail {
  return (what, why) => {
    throw new RapidError(spec, `${what}: ${why}`);
  };
}
