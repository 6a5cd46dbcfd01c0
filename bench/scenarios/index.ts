// Every scenario of PERF.md, in the order the table shows them.
import type { Scenario } from '../lib/scenario.js';
import { s7, s9 } from './catalog.js';
import { s6 } from './processing.js';
import { s3, s4, s4b } from './serving.js';
import { s8 } from './soak.js';
import { s1, s2 } from './uploads.js';
import { s5 } from './variants.js';

export const SCENARIOS: readonly Scenario[] = [s1, s2, s3, s4, s4b, s5, s6, s7, s8, s9];
