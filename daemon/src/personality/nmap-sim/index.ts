export { simulateNmapFingerprint, simulateNmapRound } from './simulate';
export type { NmapSimOptions, NmapSimResult } from './simulate';
export { formatFingerprint, parseObservedFingerprint } from './format';
export type { FormatOptions } from './format';
export { nmapOptionString } from './tcp-options';
