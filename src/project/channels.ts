/**
 * The channels a customer is reached or targeted on. Audiences are for one channel; a sync has one (its audience's,
 * its destination type's, or its own `channel:`); suppressions and marketing pressure are declared per channel.
 */
export const CHANNELS = ['email', 'sms', 'ads', 'phone', 'crm', 'push', 'mail'] as const;
export type Channel = (typeof CHANNELS)[number];
