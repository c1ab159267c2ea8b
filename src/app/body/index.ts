/**
 * Body parsers for the app (`createApp({ bodyParsers })`) and for native handlers (`parseWith`).
 * A parser runs only when a handler asks for the body; see docs/body.md.
 */
import type { BodyParser } from '../types.js';
import { json, type JsonOptions } from './json.js';
import { multipart, type MultipartOptions } from './multipart.js';
import { text, type TextOptions } from './text.js';
import { urlencoded, type UrlencodedOptions } from './urlencoded.js';

export { json, parseJsonText, JSON_TYPES, type JsonOptions, type PoisonAction } from './json.js';
export {
  urlencoded,
  parseUrlencoded,
  URLENCODED_TYPES,
  type UrlencodedOptions,
  type FormFields,
} from './urlencoded.js';
export { text, TEXT_TYPES, type TextOptions } from './text.js';
export { raw, RAW_TYPES, type RawOptions } from './raw.js';
export {
  multipart,
  multipartParts,
  MULTIPART_TYPES,
  DEFAULT_MULTIPART_LIMITS,
  type MultipartOptions,
  type MultipartLimits,
  type MultipartBody,
  type MultipartStream,
  type UploadedFile,
  type Part,
  type FieldPart,
  type FilePart,
} from './multipart.js';
export {
  parseWith,
  parseContentType,
  typeMatcher,
  DEFAULT_BODY_LIMIT,
  type ContentType,
} from './media.js';
export { readBody } from './read.js';

export interface DefaultParsersOptions {
  json?: JsonOptions;
  urlencoded?: UrlencodedOptions;
  text?: TextOptions;
  multipart?: MultipartOptions;
}

/**
 * JSON, urlencoded, text/plain and multipart (files to disk), in that order. Raw bytes are not
 * in the default set: add `raw()` for application/octet-stream (or any type) where wanted.
 */
export function defaultBodyParsers(options: DefaultParsersOptions = {}): BodyParser[] {
  return [
    json(options.json),
    urlencoded(options.urlencoded),
    text(options.text),
    multipart(options.multipart),
  ];
}
