import { describeContractShare } from './support/destination-contract.js';

/** Share 2 of the destinations' contract suites (see test/destination-contract.test.ts). */
await describeContractShare(2);
