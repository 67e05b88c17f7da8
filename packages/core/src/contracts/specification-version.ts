/**
 * Version of the plugin contracts in this package. A breaking change to any contract adds a new
 * version beside this one (`v2`) instead of changing it in place, so plugins written against `v1`
 * keep loading and get a clear error, not a silent misbehaviour.
 */
export type SpecificationVersion = 'v1';
export const specificationVersion: SpecificationVersion = 'v1';
