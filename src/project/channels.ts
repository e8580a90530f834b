/**
 * The channels a customer is reached or targeted on. Audiences are for one channel; a sync has one (its audience's,
 * its destination type's, or its own `channel:`); suppressions and marketing pressure are declared per channel.
 */
export const CHANNELS = ['email', 'sms', 'ads', 'phone', 'crm', 'push', 'mail'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * The channels on which Tideline's records are messages to a person (an e-mail, a text, a call, a push, a letter):
 * what marketing pressure counts, and what a suppression reaches by default. Ads target people without messaging
 * them; a CRM keeps their record.
 */
export const MESSAGE_CHANNELS: readonly Channel[] = ['email', 'sms', 'phone', 'push', 'mail'];

export function isMessageChannel(channel: Channel | undefined): boolean {
  return channel !== undefined && MESSAGE_CHANNELS.includes(channel);
}
