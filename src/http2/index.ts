export { H2Engine, H2Session, FLOOD_WINDOW_MS, type H2Options } from './session.js';
export { H2Request } from './request.js';
export { H2Response } from './response.js';
export { sniffPreface, PREFACE } from './preface.js';
export { H2OwnEngine } from './connection.js';
export { H2StreamRequest, H2StreamResponse } from './stream.js';
