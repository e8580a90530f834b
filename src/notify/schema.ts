import { z } from 'zod';

/** What a command's outcome is, for notifications: every selected model or sync succeeded, some failed, or all did. */
export const NOTIFY_EVENTS = ['failure', 'partial', 'success'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/**
 * The commands that notify. `run` covers every command that builds models as `run` does (a kind's own, such as
 * `identity train`); each records its own name in the message.
 */
export const NOTIFY_COMMANDS = ['run', 'sync', 'source freshness', 'test', 'build'] as const;
export type NotifyCommand = (typeof NOTIFY_COMMANDS)[number];

/** One entry of `notify:` in tideline.yml: where to post, and on which outcomes of which commands. */
export const notifyEntrySchema = z.strictObject({
  webhook: z
    .string()
    .refine((url) => url === '' || isHttpUrl(url), 'expected an http(s) URL, or an empty string to turn this entry off')
    .describe(
      'A Slack incoming-webhook URL, or any receiver of the same JSON (`{"text": …, "blocks": […]}`, `text` alone being enough to read it). It is a secret: write it as `${env:SLACK_WEBHOOK_URL}` (`${env:SLACK_WEBHOOK_URL:-}` lets the entry be off where the variable is not set: an empty URL sends nothing).',
    ),
  on: z
    .array(z.enum(NOTIFY_EVENTS))
    .min(1)
    .default(['failure', 'partial'])
    .describe(
      'Outcomes that send a message: `failure` (nothing succeeded, or the command could not run: warehouse unreachable, lock held), `partial` (some models, syncs or sources failed while others succeeded, or syncs had rejected records), `success`. Default [failure, partial].',
    ),
  commands: z
    .array(z.enum(NOTIFY_COMMANDS))
    .min(1)
    .optional()
    .describe('The commands this entry is for (`run` includes the commands of model kinds that build, such as `identity train`). Default: all of them.'),
  timeout_seconds: z.number().positive().max(120).default(10).describe('How long to wait for the receiver. A receiver that fails or does not answer in time is logged as a warning; the command\'s own exit code never changes. Default 10.'),
});
export type NotifyEntry = z.infer<typeof notifyEntrySchema>;

export const notifySchema = z
  .array(notifyEntrySchema)
  .default([])
  .describe(
    'Messages sent when `tideline run`, `sync`, `source freshness`, `test` or `build` end in failure or partial success: the command, target, counts and the failed models, syncs, sources or tests with their errors, without personal data or secrets. `tideline sync --sandbox` and `--dry-run` send none. See README "Alerts".',
  );

function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);
}
