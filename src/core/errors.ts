/**
 * The one error catalog. Every error Rapid raises or answers with has an entry here with a stable
 * `code` (RAPID_ERR_<AREA>_<WHAT>), the HTTP status it maps to, and a message. Codes never change
 * meaning once released; docs/errors.md lists every one (test/unit/core/errors.test.ts keeps the
 * two equal). Match on `code`, never on the message.
 */

export interface ErrorSpec {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

function spec(code: string, status: number, message: string): ErrorSpec {
  return Object.freeze({ code: `RAPID_ERR_${code}`, status, message });
}

export const E = Object.freeze({
  // HTTP/1.1 request framing (src/http1/parser.ts). The parser returns these; it never throws.
  HTTP1_INVALID_METHOD: spec('HTTP1_INVALID_METHOD', 400, 'Invalid request method'),
  HTTP1_METHOD_NOT_IMPLEMENTED: spec(
    'HTTP1_METHOD_NOT_IMPLEMENTED',
    501,
    'Request method not implemented',
  ),
  HTTP1_INVALID_TARGET: spec('HTTP1_INVALID_TARGET', 400, 'Invalid request target'),
  HTTP1_URI_TOO_LONG: spec('HTTP1_URI_TOO_LONG', 414, 'Request line too long'),
  HTTP1_INVALID_REQUEST_LINE: spec('HTTP1_INVALID_REQUEST_LINE', 400, 'Malformed request line'),
  HTTP1_INVALID_VERSION: spec('HTTP1_INVALID_VERSION', 400, 'Malformed HTTP version'),
  HTTP1_VERSION_NOT_SUPPORTED: spec(
    'HTTP1_VERSION_NOT_SUPPORTED',
    505,
    'HTTP version not supported',
  ),
  HTTP1_INVALID_LINE_ENDING: spec(
    'HTTP1_INVALID_LINE_ENDING',
    400,
    'Line not terminated by CRLF (bare CR or LF)',
  ),
  HTTP1_INVALID_HEADER_NAME: spec('HTTP1_INVALID_HEADER_NAME', 400, 'Invalid header field name'),
  HTTP1_SPACE_BEFORE_COLON: spec(
    'HTTP1_SPACE_BEFORE_COLON',
    400,
    'Whitespace between header field name and colon',
  ),
  HTTP1_OBS_FOLD: spec('HTTP1_OBS_FOLD', 400, 'Obsolete line folding in header field'),
  HTTP1_INVALID_HEADER_VALUE: spec(
    'HTTP1_INVALID_HEADER_VALUE',
    400,
    'Invalid character in header field value',
  ),
  HTTP1_HEADERS_TOO_LARGE: spec('HTTP1_HEADERS_TOO_LARGE', 431, 'Request header fields too large'),
  HTTP1_TOO_MANY_HEADERS: spec('HTTP1_TOO_MANY_HEADERS', 431, 'Too many request header fields'),
  HTTP1_MISSING_HOST: spec('HTTP1_MISSING_HOST', 400, 'Missing Host header in HTTP/1.1 request'),
  HTTP1_DUPLICATE_HOST: spec('HTTP1_DUPLICATE_HOST', 400, 'More than one Host header'),
  HTTP1_INVALID_HOST: spec('HTTP1_INVALID_HOST', 400, 'Invalid Host header'),
  HTTP1_INVALID_CONTENT_LENGTH: spec(
    'HTTP1_INVALID_CONTENT_LENGTH',
    400,
    'Content-Length is not a non-negative decimal integer',
  ),
  HTTP1_CONFLICTING_CONTENT_LENGTH: spec(
    'HTTP1_CONFLICTING_CONTENT_LENGTH',
    400,
    'Conflicting Content-Length values',
  ),
  HTTP1_INVALID_TRANSFER_ENCODING: spec(
    'HTTP1_INVALID_TRANSFER_ENCODING',
    400,
    'Transfer-Encoding whose final coding is not chunked',
  ),
  HTTP1_UNSUPPORTED_TRANSFER_CODING: spec(
    'HTTP1_UNSUPPORTED_TRANSFER_CODING',
    501,
    'Transfer coding not implemented',
  ),
  HTTP1_TE_WITH_CONTENT_LENGTH: spec(
    'HTTP1_TE_WITH_CONTENT_LENGTH',
    400,
    'Both Transfer-Encoding and Content-Length',
  ),
  HTTP1_TE_ON_HTTP10: spec('HTTP1_TE_ON_HTTP10', 400, 'Transfer-Encoding in an HTTP/1.0 request'),
  HTTP1_INVALID_CHUNK_SIZE: spec('HTTP1_INVALID_CHUNK_SIZE', 400, 'Invalid chunk size'),
  HTTP1_CHUNK_SIZE_OVERFLOW: spec('HTTP1_CHUNK_SIZE_OVERFLOW', 400, 'Chunk size too large'),
  HTTP1_INVALID_CHUNK_EXTENSION: spec(
    'HTTP1_INVALID_CHUNK_EXTENSION',
    400,
    'Invalid chunk extension',
  ),
  HTTP1_INVALID_CHUNK_END: spec('HTTP1_INVALID_CHUNK_END', 400, 'Chunk data not followed by CRLF'),
  HTTP1_INVALID_TRAILER: spec('HTTP1_INVALID_TRAILER', 400, 'Invalid trailer field'),
  HTTP1_BODY_TOO_LARGE: spec('HTTP1_BODY_TOO_LARGE', 413, 'Request body too large'),
  HTTP1_EXPECTATION_FAILED: spec('HTTP1_EXPECTATION_FAILED', 417, 'Expectation not supported'),
  HTTP1_HEADERS_TIMEOUT: spec('HTTP1_HEADERS_TIMEOUT', 408, 'Request header not received in time'),
  HTTP1_BODY_TIMEOUT: spec('HTTP1_BODY_TIMEOUT', 408, 'Request body not received in time'),
  HTTP1_INCOMPLETE_MESSAGE: spec(
    'HTTP1_INCOMPLETE_MESSAGE',
    400,
    'Connection closed before the request was complete',
  ),

  // Handlers and responses (src/core, src/http1/response.ts).
  HANDLER_FAILED: spec('HANDLER_FAILED', 500, 'Internal Server Error'),
  RESPONSE_TIMEOUT: spec('RESPONSE_TIMEOUT', 503, 'The handler did not respond in time'),
  RESPONSE_ALREADY_SENT: spec('RESPONSE_ALREADY_SENT', 500, 'The response was already sent'),
  HEADERS_ALREADY_SENT: spec('HEADERS_ALREADY_SENT', 500, 'Headers were already sent'),
  RESPONSE_LENGTH_MISMATCH: spec(
    'RESPONSE_LENGTH_MISMATCH',
    500,
    'The streamed body does not match the Content-Length set by the handler',
  ),
  INVALID_STATUS: spec('INVALID_STATUS', 500, 'Invalid HTTP status code'),
  INVALID_HEADER: spec('INVALID_HEADER', 500, 'Invalid response header name or value'),
  BODY_ALREADY_READ: spec('BODY_ALREADY_READ', 500, 'The request body was already consumed'),
  REQUEST_ABORTED: spec('REQUEST_ABORTED', 400, 'The client closed the connection'),
  INVALID_JSON_BODY: spec('INVALID_JSON_BODY', 400, 'Request body is not valid JSON'),

  // Body parsers (src/app/body). Raised when a handler asks for the body; 413 too large, 415 a
  // media type, charset or content coding the parser does not take, 400 malformed.
  BODY_TOO_LARGE: spec('BODY_TOO_LARGE', 413, 'Request body too large'),
  BODY_UNSUPPORTED_TYPE: spec('BODY_UNSUPPORTED_TYPE', 415, 'Unsupported request body media type'),
  BODY_UNSUPPORTED_CHARSET: spec(
    'BODY_UNSUPPORTED_CHARSET',
    415,
    'Unsupported request body charset',
  ),
  BODY_UNSUPPORTED_ENCODING: spec(
    'BODY_UNSUPPORTED_ENCODING',
    415,
    'Unsupported request body content coding',
  ),
  BODY_INVALID_ENCODING: spec(
    'BODY_INVALID_ENCODING',
    400,
    'Request body content coding could not be decoded',
  ),
  BODY_JSON_FORBIDDEN_KEY: spec(
    'BODY_JSON_FORBIDDEN_KEY',
    400,
    'Request body JSON contains a __proto__ or constructor.prototype key',
  ),
  BODY_INVALID_URLENCODED: spec(
    'BODY_INVALID_URLENCODED',
    400,
    'Malformed application/x-www-form-urlencoded body',
  ),
  BODY_TOO_MANY_PARAMETERS: spec('BODY_TOO_MANY_PARAMETERS', 413, 'Too many form parameters'),
  BODY_INVALID_MULTIPART: spec('BODY_INVALID_MULTIPART', 400, 'Malformed multipart/form-data body'),
  BODY_FILE_TOO_LARGE: spec('BODY_FILE_TOO_LARGE', 413, 'Uploaded file too large'),
  BODY_TOO_MANY_FILES: spec('BODY_TOO_MANY_FILES', 413, 'Too many uploaded files'),
  BODY_TOO_MANY_FIELDS: spec('BODY_TOO_MANY_FIELDS', 413, 'Too many form fields'),
  BODY_TOO_MANY_PARTS: spec('BODY_TOO_MANY_PARTS', 413, 'Too many multipart parts'),
  BODY_FIELD_TOO_LARGE: spec('BODY_FIELD_TOO_LARGE', 413, 'Form field name or value too large'),
  BODY_UPLOAD_FAILED: spec('BODY_UPLOAD_FAILED', 500, 'Could not store an uploaded file'),
  BODY_INVALID_OPTION: spec('BODY_INVALID_OPTION', 500, 'Invalid body parser option'),

  // Static files (src/features/static). Answers to clients, plus option errors at creation.
  STATIC_BAD_PATH: spec(
    'STATIC_BAD_PATH',
    400,
    'Bad request path (malformed escape, NUL, control character, backslash or dot segment)',
  ),
  STATIC_FORBIDDEN: spec('STATIC_FORBIDDEN', 403, 'Forbidden'),
  STATIC_NOT_FOUND: spec('STATIC_NOT_FOUND', 404, 'Not Found'),
  STATIC_METHOD_NOT_ALLOWED: spec('STATIC_METHOD_NOT_ALLOWED', 405, 'Method Not Allowed'),
  STATIC_PRECONDITION_FAILED: spec('STATIC_PRECONDITION_FAILED', 412, 'Precondition Failed'),
  STATIC_RANGE_NOT_SATISFIABLE: spec('STATIC_RANGE_NOT_SATISFIABLE', 416, 'Range Not Satisfiable'),
  STATIC_INVALID_ROOT: spec(
    'STATIC_INVALID_ROOT',
    500,
    'The static document root does not exist or is not a directory',
  ),
  STATIC_INVALID_OPTION: spec('STATIC_INVALID_OPTION', 500, 'Invalid static file option'),

  // Routing and virtual hosts (src/router). Registration errors are thrown when a route or site
  // is added; the request-time ones are what the app answers when find() reports a miss.
  ROUTER_INVALID_PATH: spec('ROUTER_INVALID_PATH', 500, 'Invalid route path pattern'),
  ROUTER_INVALID_METHOD: spec('ROUTER_INVALID_METHOD', 500, 'Invalid route method'),
  ROUTER_CONFLICT: spec('ROUTER_CONFLICT', 500, 'Route conflicts with one already registered'),
  ROUTER_BAD_URL: spec('ROUTER_BAD_URL', 400, 'Malformed percent-encoding in the request path'),
  ROUTER_NOT_FOUND: spec('ROUTER_NOT_FOUND', 404, 'Not Found'),
  ROUTER_METHOD_NOT_ALLOWED: spec('ROUTER_METHOD_NOT_ALLOWED', 405, 'Method Not Allowed'),
  VHOST_INVALID_NAME: spec('VHOST_INVALID_NAME', 500, 'Invalid virtual host name'),
  VHOST_CONFLICT: spec('VHOST_CONFLICT', 500, 'Virtual host name already registered'),

  // Application layer (src/app): registration errors are thrown by createApp()/route()/use();
  // the request-time ones are answers.
  APP_HTTP_ERROR: spec('APP_HTTP_ERROR', 500, 'HTTP error raised by application code'),
  APP_INVALID_OPTION: spec('APP_INVALID_OPTION', 500, 'Invalid application option'),
  APP_INVALID_HANDLER: spec(
    'APP_INVALID_HANDLER',
    500,
    'Handler, middleware or hook is not a function',
  ),
  APP_INVALID_PREFIX: spec('APP_INVALID_PREFIX', 500, 'Invalid middleware or mount prefix'),
  APP_ALREADY_READY: spec(
    'APP_ALREADY_READY',
    500,
    'The application is already compiled; register before ready() or the first request',
  ),
  APP_NEXT_CALLED_TWICE: spec('APP_NEXT_CALLED_TWICE', 500, 'next() called more than once'),
  APP_SEND_FILE_UNAVAILABLE: spec(
    'APP_SEND_FILE_UNAVAILABLE',
    500,
    'No file sender configured (createApp({ sendFile }))',
  ),
  APP_INVALID_COOKIE: spec('APP_INVALID_COOKIE', 500, 'Invalid cookie name, value or attribute'),
  APP_NO_COOKIE_SECRET: spec(
    'APP_NO_COOKIE_SECRET',
    500,
    'Signed cookies need the cookieSecret option',
  ),
  APP_INVALID_REDIRECT: spec('APP_INVALID_REDIRECT', 500, 'Invalid redirect status or location'),

  // Config files and the command line (src/config, src/cli). Thrown at load time; each names the
  // file, line and setting.
  CONFIG_FILE_NOT_FOUND: spec('CONFIG_FILE_NOT_FOUND', 500, 'Config file not found or unreadable'),
  CONFIG_UNSUPPORTED_FORMAT: spec(
    'CONFIG_UNSUPPORTED_FORMAT',
    500,
    'Config file type not supported (use .xml, .yaml, .yml, .json, .js, .mjs, .ts or .mts)',
  ),
  CONFIG_SYNTAX: spec('CONFIG_SYNTAX', 500, 'Config file is not well-formed'),
  CONFIG_UNKNOWN_SETTING: spec('CONFIG_UNKNOWN_SETTING', 500, 'Unknown setting'),
  CONFIG_INVALID_VALUE: spec('CONFIG_INVALID_VALUE', 500, 'Invalid setting value'),
  CONFIG_MISSING_SETTING: spec('CONFIG_MISSING_SETTING', 500, 'Required setting missing'),
  CONFIG_NOT_AVAILABLE: spec(
    'CONFIG_NOT_AVAILABLE',
    500,
    'Setting not available in this build of Rapid',
  ),
  CONFIG_MODULE_FAILED: spec(
    'CONFIG_MODULE_FAILED',
    500,
    'Config or handler module could not be loaded or exports the wrong thing',
  ),
  CONFIG_BUILD_FAILED: spec(
    'CONFIG_BUILD_FAILED',
    500,
    'A setting was refused when the servers were built from the config',
  ),

  // Access rules and authentication (src/features/access): IP allow/deny, Basic auth, htpasswd.
  ACCESS_FORBIDDEN: spec('ACCESS_FORBIDDEN', 403, 'Forbidden'),
  ACCESS_UNAUTHORIZED: spec('ACCESS_UNAUTHORIZED', 401, 'Authentication required'),
  ACCESS_MALFORMED_CREDENTIALS: spec(
    'ACCESS_MALFORMED_CREDENTIALS',
    400,
    'Malformed Authorization header (Basic credentials that are not base64 of user:password)',
  ),
  ACCESS_BAD_PATH: spec(
    'ACCESS_BAD_PATH',
    400,
    'Bad request path (malformed escape, invalid UTF-8, control character or dot segment)',
  ),
  ACCESS_AUTH_BUSY: spec(
    'ACCESS_AUTH_BUSY',
    503,
    'Too many password checks in progress; try again shortly',
  ),
  ACCESS_REWRITE_LOOP: spec(
    'ACCESS_REWRITE_LOOP',
    500,
    'Too many internal rewrites of one request (a rewrite loop)',
  ),
  ACCESS_INVALID_RULE: spec('ACCESS_INVALID_RULE', 500, 'Invalid access rule'),
  ACCESS_INVALID_ADDRESS: spec(
    'ACCESS_INVALID_ADDRESS',
    500,
    'Invalid IP address, CIDR block or address set name in an allow/deny list',
  ),
  ACCESS_HTPASSWD_UNREADABLE: spec(
    'ACCESS_HTPASSWD_UNREADABLE',
    500,
    'The htpasswd file cannot be read',
  ),
  ACCESS_HTPASSWD_INVALID: spec(
    'ACCESS_HTPASSWD_INVALID',
    500,
    'Malformed or unsupported htpasswd entry',
  ),
  ACCESS_INVALID_HEADER_RULE: spec('ACCESS_INVALID_HEADER_RULE', 500, 'Invalid header rule'),
  ACCESS_INVALID_REDIRECT: spec('ACCESS_INVALID_REDIRECT', 500, 'Invalid redirect rule'),
  ACCESS_INVALID_REWRITE: spec('ACCESS_INVALID_REWRITE', 500, 'Invalid rewrite rule'),

  // Interop handlers (src/features/fastcgi, src/features/cgi, src/features/proxy): upstream failures
  // are answered 502/504.
  FCGI_INVALID_OPTION: spec('FCGI_INVALID_OPTION', 500, 'Invalid FastCGI handler option'),
  FCGI_NOT_FOUND: spec('FCGI_NOT_FOUND', 404, 'Not Found'),
  FCGI_UNAVAILABLE: spec('FCGI_UNAVAILABLE', 502, 'The FastCGI server could not be reached'),
  FCGI_CONNECT_TIMEOUT: spec(
    'FCGI_CONNECT_TIMEOUT',
    504,
    'The FastCGI server did not accept the connection in time',
  ),
  FCGI_TIMEOUT: spec('FCGI_TIMEOUT', 504, 'The FastCGI server did not answer in time'),
  FCGI_PROTOCOL_ERROR: spec('FCGI_PROTOCOL_ERROR', 502, 'Malformed FastCGI record from the server'),
  FCGI_CONNECTION_LOST: spec(
    'FCGI_CONNECTION_LOST',
    502,
    'The FastCGI server closed the connection before the response was complete',
  ),
  FCGI_REJECTED: spec(
    'FCGI_REJECTED',
    502,
    'The FastCGI server refused the request (overloaded, unknown role or no multiplexing)',
  ),
  FCGI_BAD_RESPONSE: spec(
    'FCGI_BAD_RESPONSE',
    502,
    'The FastCGI application sent a malformed or oversized CGI header block',
  ),
  CGI_INVALID_OPTION: spec('CGI_INVALID_OPTION', 500, 'Invalid CGI handler option'),
  CGI_NOT_FOUND: spec('CGI_NOT_FOUND', 404, 'Not Found'),
  CGI_SPAWN_FAILED: spec('CGI_SPAWN_FAILED', 502, 'The CGI script could not be started'),
  CGI_TIMEOUT: spec('CGI_TIMEOUT', 504, 'The CGI script did not answer in time'),
  CGI_BAD_RESPONSE: spec(
    'CGI_BAD_RESPONSE',
    502,
    'The CGI script sent a malformed or oversized header block',
  ),
  CGI_NO_RESPONSE: spec('CGI_NO_RESPONSE', 502, 'The CGI script exited without a response'),
  PROXY_INVALID_OPTION: spec('PROXY_INVALID_OPTION', 500, 'Invalid proxy handler option'),
  PROXY_UNAVAILABLE: spec('PROXY_UNAVAILABLE', 502, 'The upstream server could not be reached'),
  PROXY_CONNECT_TIMEOUT: spec(
    'PROXY_CONNECT_TIMEOUT',
    504,
    'The upstream server did not accept the connection in time',
  ),
  PROXY_TIMEOUT: spec('PROXY_TIMEOUT', 504, 'The upstream server did not answer in time'),
  PROXY_BAD_RESPONSE: spec(
    'PROXY_BAD_RESPONSE',
    502,
    'The upstream server sent an invalid response or closed the connection',
  ),

  // Workers, logging and metrics (src/cluster, src/features/log, src/features/metrics).
  CLUSTER_INVALID_OPTION: spec('CLUSTER_INVALID_OPTION', 500, 'Invalid workers option'),
  CLUSTER_CRASH_LOOP: spec(
    'CLUSTER_CRASH_LOOP',
    500,
    'Workers keep crashing; the server stopped instead of restarting them again',
  ),
  CLUSTER_WORKER_START_FAILED: spec(
    'CLUSTER_WORKER_START_FAILED',
    500,
    'A worker exited or timed out before it was listening',
  ),
  CLUSTER_NOT_RUNNING: spec(
    'CLUSTER_NOT_RUNNING',
    500,
    'No running server found (pid file missing, stale or unreadable)',
  ),
  LOG_INVALID_OPTION: spec('LOG_INVALID_OPTION', 500, 'Invalid access or error log option'),
  LOG_OPEN_FAILED: spec('LOG_OPEN_FAILED', 500, 'Could not open a log file'),
  METRICS_INVALID_OPTION: spec('METRICS_INVALID_OPTION', 500, 'Invalid status endpoint option'),
  METRICS_FORBIDDEN: spec('METRICS_FORBIDDEN', 403, 'Forbidden'),

  // TLS and HTTP/2 (src/server/tls.ts, src/http2).
  TLS_CERT_READ_FAILED: spec(
    'TLS_CERT_READ_FAILED',
    500,
    'Could not read a TLS certificate or key file',
  ),
  TLS_INVALID_CERT: spec(
    'TLS_INVALID_CERT',
    500,
    'Invalid TLS certificate, key or passphrase (or the key does not match the certificate)',
  ),
  TLS_INVALID_OPTION: spec('TLS_INVALID_OPTION', 500, 'Invalid TLS option'),
  TLS_CERT_TOOL_FAILED: spec(
    'TLS_CERT_TOOL_FAILED',
    500,
    'Could not create a development certificate (openssl)',
  ),
  TLS_REDIRECT_NO_HOST: spec(
    'TLS_REDIRECT_NO_HOST',
    400,
    'A redirect to HTTPS needs a Host header',
  ),
  HTTP2_ABUSE: spec(
    'HTTP2_ABUSE',
    400,
    'HTTP/2 session closed with ENHANCE_YOUR_CALM (stream reset, PING or SETTINGS flood)',
  ),
  HTTP2_BODY_LENGTH_MISMATCH: spec(
    'HTTP2_BODY_LENGTH_MISMATCH',
    400,
    'HTTP/2 request body length differs from its content-length',
  ),
  HTTP2_HEADERS_TOO_LARGE: spec('HTTP2_HEADERS_TOO_LARGE', 431, 'Request header fields too large'),
  HTTP2_TOO_MANY_HEADERS: spec('HTTP2_TOO_MANY_HEADERS', 431, 'Too many request header fields'),
  HTTP2_CONNECT_UNSUPPORTED: spec(
    'HTTP2_CONNECT_UNSUPPORTED',
    501,
    'CONNECT is not supported over HTTP/2',
  ),

  // Server lifecycle (src/server, src/net).
  SERVER_NOT_LISTENING: spec('SERVER_NOT_LISTENING', 500, 'The server is not listening'),
  LISTEN_FAILED: spec('LISTEN_FAILED', 500, 'Could not listen on the address'),
  INVALID_OPTION: spec('INVALID_OPTION', 500, 'Invalid server option'),
} satisfies Record<string, ErrorSpec>);

export type ErrorKey = keyof typeof E;

/** The error class for everything in the catalog. `instanceof` works across package copies. */
export class RapidError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Whether the message may be shown to the client (4xx by default; never for 5xx). */
  readonly expose: boolean;

  constructor(which: ErrorSpec, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${which.message}: ${detail}` : which.message, options);
    this.name = 'RapidError';
    this.code = which.code;
    this.statusCode = which.status;
    this.expose = which.status < 500;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [kRapidError]?: boolean })[kRapidError] === true
    );
  }
}

const kRapidError = Symbol.for('rapid.error');
Object.defineProperty(RapidError.prototype, kRapidError, { value: true });

/** Every catalog entry, for docs and tests. */
export function allErrors(): ErrorSpec[] {
  return Object.values(E);
}
