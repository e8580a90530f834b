import { describeContractShare } from './support/destination-contract.js';

/** Share 3 of the destinations' contract suites (see test/destination-contract.test.ts). */
await describeContractShare(3);
