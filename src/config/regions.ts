/**
 * The region names the config accepts. The hosts behind them live with the Tencent client
 * (`src/tencent/regions.ts`), the one place that knows Tencent's data centres; this tuple feeds the schema's enum and
 * fails to compile if the two ever disagree.
 */
import { REGION_HOSTS, type Region } from '../tencent/regions.js';

export { REGION_HOSTS, type Region };

export const REGIONS = [
  'china',
  'singapore',
  'seoul',
  'tokyo',
  'frankfurt',
  'silicon-valley',
  'jakarta',
] as const satisfies readonly Region[];

// Every Region must be listed above (the reverse of the `satisfies` check).
type Missing = Exclude<Region, (typeof REGIONS)[number]>;
const _allRegionsListed: Missing extends never ? true : never = true;
void _allRegionsListed;
