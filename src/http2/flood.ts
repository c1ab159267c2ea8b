/**
 * Flood counting for both HTTP/2 engines (src/http2/session.ts on node:http2, src/http2/
 * connection.ts on Rapid's own): RST_STREAMs from the client, PINGs and SETTINGS are counted per
 * connection over FLOOD_WINDOW_MS; one passing its limit within the window is a flood (the
 * caller answers GOAWAY ENHANCE_YOUR_CALM, RAPID_ERR_HTTP2_ABUSE). One object per connection.
 */

/** The window over which resets, PINGs and SETTINGS are counted. */
export const FLOOD_WINDOW_MS = 10_000;

export type FloodKind = 'resets' | 'pings' | 'settings';

export class FloodCounter {
  resets = 0;
  pings = 0;
  settings = 0;
  private windowStart: number;

  constructor(now: number) {
    this.windowStart = now;
  }

  /** Count one `which`; true when that passes `limit` within the current window (a flood). */
  hit(which: FloodKind, limit: number): boolean {
    return ++this[which] > limit && this.inWindow(which);
  }

  /**
   * True when the count that just passed its limit did so within the current window; otherwise
   * a new window starts (every count back to its share of this event).
   */
  private inWindow(which: FloodKind): boolean {
    const now = Date.now();
    if (now - this.windowStart <= FLOOD_WINDOW_MS) return true;
    this.windowStart = now;
    this.resets = 0;
    this.pings = 0;
    this.settings = 0;
    this[which] = 1;
    return false;
  }
}
