/** FastCGI (php-fpm) as a feature handler (docs/interop.md). */
export {
  createFastCgiHandler,
  parseFcgiAddress,
  type FastCgiHandler,
  type FastCgiOptions,
} from './handler.js';
export {
  RecordParser,
  encodeParams,
  decodeParams,
  streamRecords,
  beginRequest,
  type FcgiRecord,
  type ParseResult,
} from './protocol.js';
