/** The site a request is for: its Host name normalised by the router's parseHost, without port. */
import type { RapidRequest } from '../../core/types.js';
import { parseHost } from '../../router/vhost.js';

/** '' when there is no request (an engine answer) or no usable Host. */
export function siteName(req: RapidRequest | null): string {
  if (req === null || req.host === '') return '';
  const info = parseHost(req.host);
  return info === null ? '' : info.name;
}
