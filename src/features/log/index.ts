export {
  createAccessLog,
  accessLogFormatter,
  clfEscape,
  clfTimestamp,
  type AccessLog,
  type AccessLogFormat,
  type AccessLogOptions,
} from './access.js';
export { createErrorLog, type ErrorLog, type ErrorLogOptions, type LogLevel } from './error.js';
export { LineWriter, type LineWriterOptions } from './writer.js';
export { siteName } from './site.js';
