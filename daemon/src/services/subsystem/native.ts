/**
 * Where the two native helpers of subsystems live: built by `npm run build`
 * (scripts/build-native.sh) from daemon/native/subsystem/ into dist/native/.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';

export interface SubsystemNative {
  /** The LD_PRELOAD library that turns the program's listening sockets into decoy ports. */
  shim: string;
  /** The launcher: empty network namespace, uid/gid, parent-death signal, then /bin/sh -c. */
  launcher: string;
}

/** dist/daemon/src/services/subsystem → dist/native */
const NATIVE_DIR = resolve(__dirname, '../../../../native');

/** The helpers, or a sentence saying why they cannot be used. */
export function findSubsystemNative(dir = NATIVE_DIR): SubsystemNative | string {
  const shim = resolve(dir, 'libdecoyd-subsystem.so');
  const launcher = resolve(dir, 'decoyd-subsystem-launch');
  try {
    accessSync(shim, constants.R_OK);
    accessSync(launcher, constants.X_OK);
  } catch {
    return `the subsystem helpers are not built (${dir}: run npm run build with a C compiler installed)`;
  }
  return { shim, launcher };
}
