// An SVG sanitizer pool's thread: the server-side DOM is synchronous and slow, and would stall the server.
import { poolTask } from '../decode-task.js';
import { sanitizeSvg } from './svg.js';

// Loaded (and the DOM built once) before the first task: from then on, time spent is the file's.
sanitizeSvg('<svg xmlns="http://www.w3.org/2000/svg"/>');

export default poolTask<Uint8Array, string>((bytes) => ({ value: sanitizeSvg(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) }));
