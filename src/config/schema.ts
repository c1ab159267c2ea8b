/**
 * The one config schema. Every config file form (XML, YAML, JSON, a defineConfig() module) is
 * read into a tree, checked against this schema and turned into the same model (`Config`).
 *
 * The schema is TypeBox, so it is at once a JSON Schema (`configJsonSchema()`, for editors) and
 * the source of the TypeScript types: `ConfigInput` is what a file may say (durations as "75s",
 * sizes as "1mb", settings left out), `Config` what the loader returns (milliseconds, bytes,
 * every default filled in). Defaults live here and nowhere else; docs/config.md is generated
 * from the descriptions and defaults (scripts/gen-config-doc.js, checked by a test).
 *
 * Rapid's own keywords sit under "x-rapid" in the JSON Schema:
 * - `kind`: "duration" ("75s", "2m", "500ms"; a number is milliseconds) or "size" ("64k",
 *   "1mb"; a number is bytes), normalised to numbers by the loader;
 * - `feature`: the factory (src/config/features.ts) a setting needs; a build without that
 *   factory refuses the setting at load time, naming its file and line;
 * - `xml`: how the setting is written in the XML form (see XmlHint and docs/config.md);
 * - `discriminator`: the property that picks the variant of a union of objects.
 */
import {
  Type,
  type Static,
  type TArray,
  type TBoolean,
  type TInteger,
  type TLiteral,
  type TNumber,
  type TObject,
  type TOptional,
  type TProperties,
  type TRecord,
  type TSchema,
  type TString,
  type TUnion,
} from '@sinclair/typebox';

/** The factories a setting may need (keys of FeatureFactories in features.ts). */
export type FeatureName =
  | 'fastcgi'
  | 'cgi'
  | 'proxy'
  | 'access'
  | 'headers'
  | 'redirects'
  | 'rewrites'
  | 'tls'
  | 'http2'
  | 'accessLog'
  | 'errorLog'
  | 'workers'
  | 'status';

/**
 * How a setting appears in XML. Scalars are attributes (`port="8080"`) or child elements with
 * text (`<Root>./site</Root>`); objects are child elements named after the setting in
 * PascalCase (`keepAlive` is `<KeepAlive>`) unless `name` says otherwise.
 */
export interface XmlHint {
  /** The element of this setting (default: the key in PascalCase). */
  name?: string;
  /** Lists and tables: the element of one item. */
  item?: string;
  /** Items appear directly in the parent element (no wrapper element). */
  flat?: boolean;
  /** Tables: the attribute holding an item's key. */
  key?: string;
  /** Tables of strings: the attribute holding an item's value (else the item's text). */
  value?: string;
  /** Lists of strings: the attribute holding an item's value (else the item's text). */
  attr?: string;
}

export interface RapidKeywords {
  kind?: 'duration' | 'size';
  feature?: FeatureName;
  xml?: XmlHint;
  discriminator?: string;
}

export const X_RAPID = 'x-rapid';

/** Rapid's keywords of a schema node (see the file comment). */
export function keywords(schema: TSchema): RapidKeywords {
  return ((schema as Record<string, unknown>)[X_RAPID] as RapidKeywords | undefined) ?? {};
}

// ---------------------------------------------------------------------------------------------
// Type-level model: what loading a schema gives.

declare const NumericBrand: unique symbol;
declare const DefaultBrand: unique symbol;

/** A duration or size: a number or a string with a unit in the file, a number in the model. */
export type TNumeric = TUnion<[TNumber, TString]> & { readonly [NumericBrand]: true };
/** An optional setting with a default: optional in the file, always present in the model. */
export type TDefault<T extends TSchema> = TOptional<T> & { readonly [DefaultBrand]: true };

type Simplify<T> = { [K in keyof T]: T[K] } & unknown;
type RequiredKeys<P extends TProperties> = {
  [K in keyof P]: P[K] extends TOptional<TSchema>
    ? P[K] extends { readonly [DefaultBrand]: true }
      ? K
      : never
    : K;
}[keyof P];
type OptionalKeys<P extends TProperties> = Exclude<keyof P, RequiredKeys<P>>;

/** The model of a schema: durations and sizes are numbers, defaulted settings are present. */
export type Model<S> = S extends { readonly [NumericBrand]: true }
  ? number
  : S extends TObject<infer P>
    ? Simplify<{ [K in RequiredKeys<P>]: Model<P[K]> } & { [K in OptionalKeys<P>]?: Model<P[K]> }>
    : S extends TArray<infer I>
      ? Model<I>[]
      : S extends TRecord<TString, infer V>
        ? Record<string, Model<V>>
        : S extends TUnion<infer U>
          ? Model<U[number]>
          : S extends TSchema
            ? Static<S>
            : never;

// ---------------------------------------------------------------------------------------------
// Builders

function k<T extends TSchema>(schema: T, kw: RapidKeywords): T {
  const s = schema as unknown as Record<string, unknown>;
  s[X_RAPID] = { ...(s[X_RAPID] as RapidKeywords | undefined), ...kw };
  return schema;
}

/** An optional setting without a default. */
function opt<T extends TSchema>(schema: T): TOptional<T> {
  return Type.Optional(schema) as unknown as TOptional<T>;
}

/** An optional setting with a default (given as a file would write it, e.g. "75s"). */
function def<T extends TSchema>(schema: T, value: unknown): TDefault<T> {
  return Type.Optional({ ...schema, default: value } as T) as TDefault<T>;
}

const DURATION = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?\\s*$';
const SIZE = '^\\s*\\d+(\\.\\d+)?\\s*([kKmMgG][iI]?[bB]?|[bB])?\\s*$';

function duration(description: string): TNumeric {
  return k(
    Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: DURATION })], {
      description,
    }),
    { kind: 'duration' },
  ) as unknown as TNumeric;
}

function size(description: string): TNumeric {
  return k(
    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: SIZE })], { description }),
    { kind: 'size' },
  ) as unknown as TNumeric;
}

function str(description: string, more: Record<string, unknown> = {}): TString {
  return Type.String({ description, ...more });
}
function bool(description: string): TBoolean {
  return Type.Boolean({ description });
}
function int(description: string, minimum = 0, maximum?: number): TInteger {
  return Type.Integer(
    maximum === undefined ? { description, minimum } : { description, minimum, maximum },
  );
}
function oneOf<const V extends readonly string[]>(
  values: V,
  description: string,
): TUnion<TLiteral<V[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  ) as unknown as TUnion<TLiteral<V[number]>[]>;
}
function list<T extends TSchema>(
  item: T,
  description: string,
  xml?: XmlHint,
  minItems?: number,
): TArray<T> {
  const s = Type.Array(item, minItems === undefined ? { description } : { description, minItems });
  return xml === undefined ? s : k(s, { xml });
}
function table<V extends TSchema>(
  value: V,
  description: string,
  xml: XmlHint,
): TRecord<TString, V> {
  return k(Type.Record(Type.String(), value, { description }), { xml }) as TRecord<TString, V>;
}
function group<P extends TProperties>(properties: P, description: string, xml?: XmlHint) {
  const s = Type.Object(properties, { description, additionalProperties: false });
  return xml === undefined ? s : k(s, { xml });
}
function needs<T extends TSchema>(feature: FeatureName, schema: T): T {
  return k(schema, { feature });
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

const PATH_MATCH =
  'Which requests: a path prefix at a segment boundary ("/admin" takes /admin and /admin/x, ' +
  'not /administrator), or a glob ("/admin/*", "*.php": `*` within a segment, `**` across ' +
  'segments, a glob without a leading "/" matches at any depth). Default: every request.';

const CODING = oneOf(['br', 'gzip', 'deflate'] as const, 'A content coding.');

function compressionProperties(withDefaults: boolean) {
  const d = <T extends TSchema>(s: T, v: unknown) => (withDefaults ? def(s, v) : opt(s));
  return {
    enabled: d(bool('Compress responses for clients that accept it.'), true),
    codings: d(list(CODING, 'Codings offered, in order of preference on equal q-values.'), [
      'br',
      'gzip',
      'deflate',
    ]),
    level: d(int('gzip/deflate level of cached files (1-9).', 1, 9), 9),
    brotliQuality: d(int('Brotli quality of cached files (0-11).', 0, 11), 9),
    minSize: d(size('Smallest body compressed: below it the savings do not pay.'), '1kb'),
    types: d(
      list(
        str('A media type, or a family such as "text/*".'),
        'Media types compressed. Empty: the types mime-db marks compressible (text, JSON, ' +
          'JavaScript, SVG, ...).',
        { item: 'Type', flat: true },
      ),
      [],
    ),
    precompressed: d(
      bool('Serve `file.br` / `file.gz` next to `file` when at least as new.'),
      true,
    ),
  };
}

const TEXT_TABLE = (description: string, xml: XmlHint) => table(Type.String(), description, xml);

const ListenerTls = group(
  {
    cert: str('Certificate chain: a PEM file path or the PEM text.'),
    key: str('Private key: a PEM file path or the PEM text.'),
    passphrase: opt(str('Passphrase of the key.')),
    ca: opt(str('CA certificates to trust for client certificates (PEM path or text).')),
    minVersion: opt(oneOf(['TLSv1.2', 'TLSv1.3'] as const, 'Oldest TLS version accepted.')),
    ciphers: opt(str('OpenSSL cipher list.')),
    sni: opt(
      table(
        group(
          {
            cert: str('Certificate chain (PEM path or text).'),
            key: str('Private key (PEM path or text).'),
            passphrase: opt(str('Passphrase of the key.')),
          },
          'A certificate for one server name.',
        ),
        'Certificates by server name ("example.com", "*.example.com").',
        { item: 'Sni', flat: true, key: 'name' },
      ),
    ),
  },
  'TLS on this listener.',
  { name: 'Tls' },
);

const AccessLog = group(
  {
    path: Type.Union([str('A file, or "stdout".'), Type.Literal(false)], {
      description: 'Where to write: a file path, "stdout", or false for none.',
    }),
    format: def(oneOf(['common', 'combined', 'json'] as const, 'Line format.'), 'common'),
  },
  "The access log (in a site: the log of that site's requests, instead of the server-wide one).",
);

const Listener = group(
  {
    host: def(
      str('Address to bind: an IPv4 or IPv6 address ("::" for all) or a host name.'),
      '0.0.0.0',
    ),
    port: def(int('TCP port; 0 picks a free one.', 0, 65535), 8080),
    socket: opt(str('A Unix domain socket path instead of host and port.')),
    backlog: def(int('Listen backlog.', 1), 2048),
    reusePort: def(bool('SO_REUSEPORT, where the running Node supports it.'), false),
    tls: opt(needs('tls', ListenerTls)),
    http2: opt(needs('http2', bool('Offer HTTP/2 (ALPN h2) on TLS (default true with tls).'))),
    h2c: opt(needs('http2', bool('Accept cleartext HTTP/2 (prior knowledge and Upgrade: h2c).'))),
    http2Engine: opt(
      needs(
        'http2',
        oneOf(
          ['rapid', 'node'] as const,
          "The HTTP/2 engine: 'rapid' (Rapid's own, the default) or 'node' (node:http2).",
        ),
      ),
    ),
  },
  'One address to listen on. Every site is served on every listener.',
);

const CacheControlRule = group(
  {
    path: str('Glob on the file path relative to the root ("/assets/*", "*.html").'),
    value: str('The Cache-Control value, e.g. "public, max-age=31536000, immutable".'),
  },
  'A Cache-Control value for files whose path matches (first match wins).',
);

const OutputCache = group(
  {
    enabled: def(bool('Keep small files in memory with their response heads.'), true),
    maxFileSize: def(size('Largest file kept in memory; larger files are streamed.'), '256kb'),
    maxBytes: def(size('Total bytes held (bodies and compressed variants).'), '64mb'),
    maxEntries: def(int('Most files held.', 1), 4096),
    revalidate: def(
      duration('A file served this long after its last check is stat()ed first.'),
      '1s',
    ),
    watch: def(bool('Watch the directories of cached files for changes.'), true),
  },
  'The output cache of the static files of this site.',
);

/** Static file options shared by a site's root, its mounts and static handlers. */
function staticProperties() {
  return {
    listing: opt(
      bool("HTML listing of directories without a default document (default: the site's)."),
    ),
    index: opt(
      list(str('A file name.'), "Default documents (default: the site's).", {
        name: 'DefaultDocuments',
        item: 'Add',
      }),
    ),
    dotfiles: opt(
      oneOf(
        ['ignore', 'deny', 'allow'] as const,
        "Paths with a dot segment: 404, 403 or served (default: the site's).",
      ),
    ),
    notFound: opt(str('A page under this root sent with status 404, e.g. "404.html".')),
  };
}

const Mount = group(
  {
    path: str('URL path prefix, e.g. "/downloads"; it is removed before looking up files.'),
    root: str('The directory served there.'),
    ...staticProperties(),
  },
  'Another directory served below a path of the site.',
);

const Matcher = { path: opt(str(PATH_MATCH)) };

const StaticHandler = group(
  {
    type: Type.Literal('static'),
    ...Matcher,
    root: str('The directory served.'),
    ...staticProperties(),
  },
  'Static files from another root (as a mount, but matched like every handler).',
);

const FastCgiHandler = needs(
  'fastcgi',
  group(
    {
      type: Type.Literal('fastcgi'),
      ...Matcher,
      address: str('The FastCGI server: "127.0.0.1:9000" or "unix:/run/php/php-fpm.sock".'),
      root: opt(str('Document root the scripts are in (default: the site root).')),
      index: def(str('Script tried for a directory.'), 'index.php'),
      extensions: def(list(str('An extension with its dot.'), 'Extensions executed.'), ['.php']),
      params: opt(
        TEXT_TABLE('Extra FastCGI parameters.', {
          item: 'Param',
          flat: true,
          key: 'name',
          value: 'value',
        }),
      ),
      timeout: opt(duration('Time for the upstream to answer.')),
      connectTimeout: opt(duration('Time to connect to the upstream.')),
      maxConnections: opt(int('Most connections to the upstream at once.', 1)),
      splitPathInfo: def(bool('Split /script.php/extra into SCRIPT_NAME and PATH_INFO.'), true),
    },
    'Scripts run by a FastCGI server (php-fpm).',
  ),
);

const CgiHandler = needs(
  'cgi',
  group(
    {
      type: Type.Literal('cgi'),
      ...Matcher,
      root: opt(str('Directory the scripts are in (default: the site root).')),
      interpreters: opt(
        TEXT_TABLE('Interpreter by extension (".php": "/usr/bin/php-cgi"); others run directly.', {
          item: 'Interpreter',
          flat: true,
          key: 'extension',
          value: 'command',
        }),
      ),
      env: opt(
        TEXT_TABLE('Extra environment variables.', {
          item: 'Env',
          flat: true,
          key: 'name',
          value: 'value',
        }),
      ),
      timeout: opt(duration('Time a script may run.')),
      index: opt(str('Script tried for a directory.')),
    },
    'CGI scripts run as child processes.',
  ),
);

const ProxyHandler = needs(
  'proxy',
  group(
    {
      type: Type.Literal('proxy'),
      ...Matcher,
      upstream: k(
        Type.Union(
          [
            str('An upstream origin, e.g. "http://127.0.0.1:3000".'),
            list(str('An upstream origin.'), 'Upstreams, used in turn.'),
          ],
          { description: 'The upstream origin, or a list of them used in turn.' },
        ),
        { xml: { item: 'Upstream', flat: true } },
      ),
      preserveHost: def(bool("Send the client's Host instead of the upstream's."), false),
      stripPrefix: opt(str('A path prefix removed before forwarding.')),
      timeout: opt(duration('Time for the upstream to answer.')),
      connectTimeout: opt(duration('Time to connect to the upstream.')),
      xForwarded: def(bool('Add X-Forwarded-For/-Proto/-Host and Forwarded.'), true),
      headers: opt(
        group(
          {
            set: opt(
              TEXT_TABLE('Request headers set.', {
                item: 'Set',
                flat: true,
                key: 'name',
                value: 'value',
              }),
            ),
            remove: opt(
              list(str('A header name.'), 'Request headers removed.', {
                item: 'Remove',
                flat: true,
                attr: 'name',
              }),
            ),
          },
          'Request headers changed on the way upstream.',
        ),
      ),
      websocket: def(bool('Forward WebSocket upgrades.'), true),
    },
    'A reverse proxy to HTTP upstreams.',
  ),
);

const ModuleHandler = group(
  {
    type: Type.Literal('module'),
    ...Matcher,
    module: str(
      'A JavaScript or TypeScript module (path) exporting a Rapid handler `(req, res, next?)`, ' +
        'an App (createApp()), a fetch function `(request) => Response`, or an object with ' +
        '`fetch` (a Hono app).',
    ),
    export: def(str('The export to use.'), 'default'),
  },
  'Application code from a module.',
);

const Handler = k(
  Type.Union([StaticHandler, FastCgiHandler, CgiHandler, ProxyHandler, ModuleHandler], {
    description: 'A handler for the requests it matches, tried in order before the site root.',
  }),
  { discriminator: 'type' },
);

const HeaderRule = group(
  {
    ...Matcher,
    set: def(
      TEXT_TABLE('Fields set (replacing).', {
        item: 'Set',
        flat: true,
        key: 'name',
        value: 'value',
      }),
      {},
    ),
    add: def(
      TEXT_TABLE('Fields added (kept with existing ones).', {
        item: 'Add',
        flat: true,
        key: 'name',
        value: 'value',
      }),
      {},
    ),
    remove: def(
      list(str('A header name.'), 'Fields removed.', { item: 'Remove', flat: true, attr: 'name' }),
      [],
    ),
  },
  'Response header changes for the requests that match.',
);

const Redirect = group(
  {
    from: str('A regular expression ("^/old/(.*)$") or an exact path ("/old").'),
    to: str('The target; "$1" refers to a group of `from`. A path or an absolute URL.'),
    status: def(
      Type.Union(
        [301, 302, 303, 307, 308].map((n) => Type.Literal(n)),
        { description: 'The redirect status.' },
      ),
      301,
    ),
  },
  'An external redirect.',
);

const Rewrite = group(
  {
    from: str('A regular expression or an exact path.'),
    to: str('The new path; "$1" refers to a group of `from`.'),
    last: def(bool('Stop at this rewrite when it matches.'), true),
  },
  'An internal rewrite: the request is routed as the new path.',
);

const AccessRule = group(
  {
    ...Matcher,
    allow: opt(
      list(
        str('An address, a CIDR range ("10.0.0.0/8", "fd00::/8") or "all".'),
        'Clients allowed.',
        { item: 'Allow', flat: true, attr: 'from' },
      ),
    ),
    deny: opt(
      list(str('An address, a CIDR range or "all".'), 'Clients denied.', {
        item: 'Deny',
        flat: true,
        attr: 'from',
      }),
    ),
    auth: opt(
      group(
        {
          realm: str('The realm shown by the browser.'),
          htpasswd: str('An htpasswd file (bcrypt, {SHA} and $apr1$ entries).'),
          users: opt(
            list(str('A user name.'), 'Users admitted (default: every user in the file).', {
              item: 'User',
              flat: true,
              attr: 'name',
            }),
          ),
        },
        'HTTP Basic authentication.',
      ),
    ),
    satisfy: opt(
      oneOf(
        ['all', 'any'] as const,
        'Both the address and auth rules must pass ("all") or either ("any").',
      ),
    ),
  },
  'Who may see the requests that match: addresses and Basic auth (401/403).',
);

const SiteTls = group(
  {
    cert: str('Certificate chain (PEM path or text).'),
    key: str('Private key (PEM path or text).'),
    passphrase: opt(str('Passphrase of the key.')),
  },
  'The certificate of this site, picked by SNI on TLS listeners.',
  { name: 'Tls' },
);

const Hsts = group(
  {
    maxAge: int('max-age in seconds.'),
    includeSubDomains: opt(bool('Add includeSubDomains.')),
    preload: opt(bool('Add preload.')),
  },
  'Strict-Transport-Security on HTTPS responses.',
);

const Site = group(
  {
    name: str(
      'Host name: exact ("example.com"), wildcard ("*.example.com"), or "*"; may end in ":port".',
    ),
    aliases: def(
      list(str('Another host name.'), 'More names of the site.', { item: 'Alias', flat: true }),
      [],
    ),
    default: def(
      bool('Serve requests whose Host matches no site. Without one, the first site does.'),
      false,
    ),
    root: opt(str('The document root. Without it the site serves only its handlers and mounts.')),
    index: opt(
      list(str('A file name.'), 'Default documents (default: the global `index`).', {
        name: 'DefaultDocuments',
        item: 'Add',
      }),
    ),
    mimeTypes: opt(
      TEXT_TABLE('Media types by extension, over the global `mimeTypes`.', {
        name: 'MimeTypes',
        item: 'Add',
        key: 'extension',
        value: 'type',
      }),
    ),
    compression: opt(
      group(compressionProperties(false), 'Compression (each setting defaults to the global one).'),
    ),
    listing: def(bool('HTML listing of directories without a default document.'), false),
    dotfiles: def(
      oneOf(
        ['ignore', 'deny', 'allow'] as const,
        'Paths with a dot segment: 404 ("ignore"), 403 ("deny") or served ("allow"); /.well-known is always served.',
      ),
      'ignore',
    ),
    followSymlinks: def(
      oneOf(['inside', 'any'] as const, 'Symlinks may lead only inside the root, or anywhere.'),
      'inside',
    ),
    notFound: opt(str('A page under the root sent with status 404, e.g. "404.html".')),
    cacheControl: def(
      list(CacheControlRule, 'Cache-Control by path (first match wins).', {
        item: 'CacheControl',
        flat: true,
      }),
      [],
    ),
    cache: def(OutputCache, {}),
    mounts: def(
      list(Mount, 'Directories served below paths of the site.', { item: 'Mount', flat: true }),
      [],
    ),
    handlers: def(
      list(Handler, 'Handlers by path or extension, tried in order.', {
        item: 'Handler',
        flat: true,
      }),
      [],
    ),
    headers: def(
      needs(
        'headers',
        list(HeaderRule, 'Response header rules.', { item: 'ResponseHeaders', flat: true }),
      ),
      [],
    ),
    redirects: def(
      needs(
        'redirects',
        list(Redirect, 'Redirects, tried in order.', { item: 'Redirect', flat: true }),
      ),
      [],
    ),
    rewrites: def(
      needs(
        'rewrites',
        list(Rewrite, 'Rewrites, tried in order.', { item: 'Rewrite', flat: true }),
      ),
      [],
    ),
    access: def(
      needs('access', list(AccessRule, 'Access rules.', { item: 'Access', flat: true })),
      [],
    ),
    accessLog: opt(needs('accessLog', AccessLog)),
    tls: opt(needs('tls', SiteTls)),
    redirectToHttps: opt(needs('tls', bool('Redirect plain HTTP requests to https://.'))),
    hsts: opt(needs('tls', Hsts)),
  },
  'A virtual host.',
);

export const ConfigSchema = group(
  {
    baseDir: opt(
      str("Directory relative paths are resolved against (default: the config file's directory)."),
    ),
    listeners: def(list(Listener, 'Addresses to listen on.', { item: 'Listen', flat: true }, 1), [
      {},
    ]),
    sites: Type.Array(Site, {
      minItems: 1,
      description: 'The sites (virtual hosts).',
      [X_RAPID]: { xml: { item: 'Site', flat: true } },
    }),
    index: def(
      list(str('A file name.'), 'Default documents tried for a directory, in order.', {
        name: 'DefaultDocuments',
        item: 'Add',
      }),
      ['index.html'],
    ),
    mimeTypes: def(
      TEXT_TABLE('Media types by extension ("md": "text/markdown"), over mime-db.', {
        name: 'MimeTypes',
        item: 'Add',
        key: 'extension',
        value: 'type',
      }),
      {},
    ),
    compression: def(group(compressionProperties(true), 'Compression of static files.'), {}),
    keepAlive: def(
      group(
        {
          maxRequests: def(
            int('Requests on one connection before it is closed (0: unlimited).'),
            0,
          ),
          timeout: def(duration('Idle time before a keep-alive connection is closed.'), '75s'),
        },
        'Persistent connections.',
      ),
      {},
    ),
    limits: def(
      group(
        {
          maxRequestLineBytes: def(size('Longest request line (414 past it).'), '8kb'),
          maxHeaderBytes: def(size('Largest request head (431 past it).'), '16kb'),
          maxHeaderCount: def(int('Most header fields (431 past it).', 1), 100),
          maxBodyBytes: def(size('Largest request body (413 past it).'), '1mb'),
          rejectUnknownMethods: def(bool('Answer unknown methods with 501.'), false),
          maxPipelinedRequests: def(int('Requests accepted ahead of their responses.', 1), 32),
          headersTimeout: def(duration('Time to receive a request head (408).'), '20s'),
          bodyTimeout: def(duration('Time a body may go without progress (408).'), '60s'),
          responseTimeout: def(
            duration('Time for a handler to finish its response (503); 0 disables.'),
            '120s',
          ),
        },
        'Engine limits (docs/config.md "limits").',
      ),
      {},
    ),
    shutdownTimeout: def(duration('How long a graceful stop waits for in-flight requests.'), '10s'),
    workers: def(
      needs(
        'workers',
        Type.Union([Type.Literal('auto'), int('Worker processes.', 1)], {
          description: 'Worker processes: a number, or "auto" for one per core.',
        }),
      ),
      1,
    ),
    distribution: opt(
      needs(
        'workers',
        oneOf(
          ['reuseport', 'round-robin', 'os'] as const,
          'How connections reach workers (default: reuseport where Node has SO_REUSEPORT, else ' +
            'round-robin; "os" lets every worker accept on one shared socket). docs/cluster.md.',
        ),
      ),
    ),
    accessLog: opt(needs('accessLog', AccessLog)),
    errorLog: opt(
      needs(
        'errorLog',
        group(
          {
            path: str('A file, "stdout" or "stderr".'),
            level: def(
              oneOf(['debug', 'info', 'warn', 'error'] as const, 'Least severe level written.'),
              'info',
            ),
          },
          'The error log.',
        ),
      ),
    ),
    status: opt(
      needs(
        'status',
        group(
          {
            path: def(str('URL path of the status page.'), '/server-status'),
            allow: def(
              list(str('An address or CIDR range.'), 'Clients allowed to see it.', {
                item: 'Allow',
                flat: true,
                attr: 'from',
              }),
              ['127.0.0.1', '::1'],
            ),
          },
          'The server status endpoint.',
        ),
      ),
    ),
  },
  'A Rapid configuration.',
  { name: 'Rapid' },
);

/** What a config file may say (the type of defineConfig()'s argument). */
export type ConfigInput = Static<typeof ConfigSchema>;

type RawConfig = Model<typeof ConfigSchema>;
type RawSite = RawConfig['sites'][number];
export type CompressionConfig = RawConfig['compression'];
/** A site after loading: index, mimeTypes and compression are filled in from the globals. */
export type SiteConfig = Simplify<
  Omit<RawSite, 'index' | 'mimeTypes' | 'compression'> & {
    index: string[];
    mimeTypes: Record<string, string>;
    compression: CompressionConfig;
  }
>;
/** The loaded model: every default filled in, durations in ms, sizes in bytes, paths absolute. */
export type Config = Simplify<
  Omit<RawConfig, 'sites' | 'baseDir'> & { baseDir: string; sites: SiteConfig[] }
>;
export type ListenerConfig = Config['listeners'][number];
export type HandlerConfig = SiteConfig['handlers'][number];
export type MountConfig = SiteConfig['mounts'][number];

/** The model before site inheritance is resolved (what the validator returns). */
export type ValidatedConfig = RawConfig;

/** The schema as plain JSON Schema (draft 2020-12 keywords), e.g. for editor completion. */
export function configJsonSchema(): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...ConfigSchema }),
  ) as Record<string, unknown>;
}

/** Typed identity: `export default defineConfig({ sites: [{ name: '*', root: './site' }] })`. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}
