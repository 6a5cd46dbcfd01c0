// The one piece of jsdom imgd uses. @types/jsdom is left out on purpose: it pulls the DOM lib into every file,
// which changes the types of fetch, Blob and Buffer for the whole server.
declare module 'jsdom' {
  export class JSDOM {
    constructor(html?: string);
    readonly window: unknown;
  }
}
