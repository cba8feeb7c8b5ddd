import type { HostPersonality } from './host-personality';
import type { OsClass } from './osdb/types';
import { LinuxLikePersonality } from './linux-like-personality';

export interface PersonalitySource {
  /** Class vendor of a personality name, for MAC choice; undefined if unknown. */
  vendorOf(name: string | undefined): string | undefined;
  /** First nmap class of a personality name (vendor, family, generation, device type), if known. */
  classOf(name: string | undefined): OsClass | undefined;
  /** Build a host's personality. */
  create(name: string | undefined, seed: number, uptimeSeconds: number | undefined): HostPersonality;
}

/** Used when no OS database is available: every host runs the built-in Linux-like model. */
export class BuiltinPersonalitySource implements PersonalitySource {
  vendorOf(): string | undefined {
    return 'Linux';
  }
  classOf(): OsClass | undefined {
    return { vendor: 'Linux', family: 'Linux', generation: '', deviceType: 'general purpose' };
  }
  create(_name: string | undefined, seed: number, uptimeSeconds: number | undefined): HostPersonality {
    return new LinuxLikePersonality(seed, uptimeSeconds);
  }
}
