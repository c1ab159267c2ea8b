/**
 * What a request needs to know about the application handling it, resolved once at start-up.
 *
 * A Scope is one app as reached along one path of mounts and sites: its own onRequest hooks and
 * router, plus the hooks, handlers and settings it inherits from the apps above it. An app
 * mounted in two places gets two scopes. Empty hook lists are `null`, so a request pays one
 * comparison for each hook point nobody uses (fastify's rule, lib/route.js).
 */
import type { RapidRequest } from '../core/types.js';
import type { HostMatcher } from '../router/vhost.js';
import type { Router } from '../router/types.js';
import type { TrustFn } from './proxy.js';
import type {
  AppHandler,
  BodyParser,
  ErrorHandler,
  ErrorHook,
  FileSender,
  Middleware,
  RequestHook,
  SendHook,
} from './types.js';

/** Settings after defaults and inheritance. */
export interface Settings {
  readonly production: boolean;
  readonly trust: TrustFn | null;
  readonly cookieSecrets: readonly string[] | null;
  readonly bodyParsers: readonly BodyParser[];
  readonly bodyLimit: number;
  readonly sendFile: FileSender | null;
  readonly queryLimit: number;
  readonly logError: (err: unknown, req: RapidRequest) => void;
}

/** A function in a route's chain: middleware (takes next) or, last, the handler. */
export type ChainFn = Middleware | AppHandler;

/** What the app stores in its router for a route or a mount. */
export class Entry {
  /** Route pattern (or mount prefix) as registered. */
  readonly pattern: string;
  /** Route-level functions as registered: middleware..., handler. */
  readonly own: readonly ChainFn[];
  /** Index into Scope.children for a mount; -1 for a route. */
  readonly mountIndex: number;
  /** Compiled at ready(): the app's applicable use() middleware, then `own`. */
  chain: ChainFn[];
  /** Index in `chain` of the first route-level function (where preHandler hooks run). */
  handlerStart: number;

  constructor(pattern: string, own: readonly ChainFn[], mountIndex: number) {
    this.pattern = pattern;
    this.own = own;
    this.mountIndex = mountIndex;
    this.chain = [];
    this.handlerStart = 0;
  }
}

/** use() middleware, with the prefix it applies to ('' = everything). */
export interface UseEntry {
  readonly prefix: string;
  readonly fn: Middleware;
}

export class Scope {
  readonly settings: Settings;
  readonly router: Router<Entry>;
  /** Own hooks, run when a request enters this app. */
  readonly onRequest: RequestHook[] | null;
  /** Inherited + own: run after middleware, before the route's handlers. */
  readonly preHandler: RequestHook[] | null;
  readonly onSend: SendHook[] | null;
  readonly onResponse: RequestHook[] | null;
  readonly onError: ErrorHook[] | null;
  readonly errorHandler: ErrorHandler | null;
  readonly notFound: AppHandler | null;
  /** The app's use() middleware, for requests no route takes (404, 405, OPTIONS). */
  readonly middleware: readonly UseEntry[];
  readonly caseSensitive: boolean;
  /** Scopes of mounted apps, by Entry.mountIndex. */
  children: Scope[];
  /** Virtual hosts registered on this app (null when none). */
  sites: HostMatcher<Scope> | null;

  constructor(
    settings: Settings,
    router: Router<Entry>,
    hooks: {
      onRequest: RequestHook[] | null;
      preHandler: RequestHook[] | null;
      onSend: SendHook[] | null;
      onResponse: RequestHook[] | null;
      onError: ErrorHook[] | null;
    },
    errorHandler: ErrorHandler | null,
    notFound: AppHandler | null,
    middleware: readonly UseEntry[],
    caseSensitive: boolean,
  ) {
    this.settings = settings;
    this.router = router;
    this.onRequest = hooks.onRequest;
    this.preHandler = hooks.preHandler;
    this.onSend = hooks.onSend;
    this.onResponse = hooks.onResponse;
    this.onError = hooks.onError;
    this.errorHandler = errorHandler;
    this.notFound = notFound;
    this.middleware = middleware;
    this.caseSensitive = caseSensitive;
    this.children = [];
    this.sites = null;
  }
}

/** Concatenate inherited and own hooks; null when both are empty. */
export function joinHooks<T>(inherited: readonly T[] | null, own: readonly T[]): T[] | null {
  if (inherited === null) return own.length === 0 ? null : own.slice();
  return own.length === 0 ? inherited.slice() : [...inherited, ...own];
}
