/** Sync commands select with the models' grammar, over the same graph: see src/project/select.ts. */
export { selectSyncs } from '../project/select.js';
