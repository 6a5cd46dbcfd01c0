// A route constraint on whether the client asks for HTML: lets media_server's JSON `GET /` sit beside the web UI's `/`.
import type { IncomingMessage } from 'node:http';

/** Whether the Accept header names text/html (a browser navigating), as COMPAT.md §1 decides who answers `/`. */
export const wantsHtml = (accept: string | undefined): boolean => /\btext\/html\b/i.test(accept ?? '');

/**
 * find-my-way strategy: a route constrained to `accept: 'json'` takes requests whose Accept does not name
 * text/html; the others fall through to the unconstrained route on the same path (mustMatchWhenDerived false).
 */
export const acceptConstraint = {
  name: 'accept',
  storage() {
    // find-my-way's handler type is internal to it: the map only hands back what it was given.
    const handlers = new Map<string, never>();
    return {
      get: (value: string) => handlers.get(value) ?? null,
      set: (value: string, store: never) => {
        handlers.set(value, store);
      },
    };
  },
  validate(value: unknown): void {
    if (value !== 'json' && value !== 'html') throw new Error("the accept constraint takes 'json' or 'html'");
  },
  deriveConstraint: (req: IncomingMessage): string => (wantsHtml(req.headers.accept) ? 'html' : 'json'),
  mustMatchWhenDerived: false,
};
