import type { Connection } from '../connection.js';
import type { OpenContext } from '../registry.js';
import type { BigQueryTarget } from './config.js';

export async function openBigQuery(_target: BigQueryTarget, _context: OpenContext): Promise<Connection> {
  throw new Error('BigQuery connection: not implemented yet');
}
