/** A failure of one sync with a message fit for the user. */
export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
}

