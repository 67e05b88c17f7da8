export { ampo } from './ampo.js';
export { quota } from './quota.js';
export { rankByReward, type TieRule, tieRules } from './rank.js';
export { replaceWorst } from './replace-worst.js';
export { topK } from './top-k.js';
