import type { Connection } from '../connection.js';
import type { OpenContext } from '../registry.js';
import type { SnowflakeTarget } from './config.js';

export async function openSnowflake(_target: SnowflakeTarget, _context: OpenContext): Promise<Connection> {
  throw new Error('Snowflake connection: not implemented yet');
}
