import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection, when the runtime allows one. Sending a million records leaves tens of megabytes of dead
 * records in V8's old space, which it would keep until its next scheduled collection; the journal fold that follows
 * makes the warehouse (embedded DuckDB) allocate its most. Collecting in between keeps the two peaks apart.
 * `--expose-gc` is switched on for a fresh context only, so no global `gc` appears in the program's own.
 */
let collect: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  collect?.();
}
