/**
 * The Date header (RFC 9110 §6.6.1), formatted at most once a second and shared by every response,
 * as uWebSockets (LoopData::updateDate) and h2o (h2o_get_timestamp) do. The timer is unref'd, so
 * it never keeps the process alive, and started on first use.
 */

let cached = '';
let cachedLine = '';
let timer: NodeJS.Timeout | undefined;

function update(): void {
  cached = new Date().toUTCString();
  cachedLine = `Date: ${cached}\r\n`;
}

function start(): void {
  update();
  // Align the refresh to the start of the next second so the header is never more than a few
  // milliseconds stale.
  const first = setTimeout(
    () => {
      update();
      timer = setInterval(update, 1000);
      timer.unref();
    },
    1000 - (Date.now() % 1000),
  );
  first.unref();
  timer = first;
}

/** The current HTTP-date, e.g. "Sun, 22 Nov 2026 05:34:00 GMT". */
export function httpDate(): string {
  if (timer === undefined) start();
  return cached;
}

/** "Date: <HTTP-date>\r\n", ready to copy into a response head. */
export function dateHeaderLine(): string {
  if (timer === undefined) start();
  return cachedLine;
}
