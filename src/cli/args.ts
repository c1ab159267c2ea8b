/** Command-line helpers shared by the CLI's commands (src/cli/main.ts, src/cli/cert.ts). */

/**
 * The one line a user needs from a node:util parseArgs() error: "unknown option --x", or the
 * first sentence of its message (parseArgs explains at length).
 */
export function argsErrorLine(err: unknown): string {
  const message = (err as Error).message;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  return unknown !== null
    ? `unknown option ${unknown[1]}`
    : (message.split(/\.( |$)/)[0] as string);
}
