export * from './types';
export { FAMILY_BEHAVIOURS, DEFAULT_FAMILY } from './tables';
export { behaviourOf, familyOf, familyOfClass } from './family';
