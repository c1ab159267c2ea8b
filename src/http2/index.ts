export { H2Engine, H2Session, FLOOD_WINDOW_MS, type H2Options } from './session.js';
export { H2Request } from './request.js';
export { H2Response } from './response.js';
export { sniffPreface, PREFACE } from './preface.js';
