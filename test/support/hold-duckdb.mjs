// Holds a DuckDB database file open as another process would (a tideline command, a DuckDB shell) until its stdin
// ends: `node hold-duckdb.mjs FILE [READ_WRITE|READ_ONLY]`. Prints `held` once the file is open. Plain JavaScript on
// @duckdb/node-api, so that it starts in a fraction of a second.
import { DuckDBInstance } from '@duckdb/node-api';

const [file, mode = 'READ_WRITE'] = process.argv.slice(2);
const instance = await DuckDBInstance.create(file, { access_mode: mode });
const connection = await instance.connect();
await connection.run('SELECT 1');
process.stdout.write('held\n');
process.stdin.resume();
process.stdin.on('end', () => {
  connection.closeSync();
  instance.closeSync();
  process.exit(0);
});
