import type { DecoydConfig } from '../config/types';
import { BuiltinPersonalitySource, type PersonalitySource } from './factory';

/** The personality source for a configuration. */
export function openPersonalitySource(_cfg: DecoydConfig, _warn: (message: string) => void): PersonalitySource {
  return new BuiltinPersonalitySource();
}
