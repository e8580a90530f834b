import { scrubEmails } from '../../destinations/http.js';
import type { Logger } from '../log/logger.js';
import { redactor, scrubPersonalData } from '../log/redact.js';
import type { Project } from '../project/loader.js';
import { ConfigError, formatProblem } from '../project/problems.js';
import { describeFailure } from '../warehouses/connection.js';
import type { NotifyCommand, NotifyEntry, NotifyEvent } from './schema.js';

/**
 * Alerts (`notify:` in tideline.yml): when a command that a scheduler runs ends, a message to each webhook that asked
 * for its outcome. The message says what ran where, the counts, and what failed with why — never a row value or a
 * secret: errors pass through the secret redactor, and what still looks like an e-mail address or a phone number
 * (a destination or a warehouse quoting a value) is replaced. Sending never changes the command's outcome: a
 * receiver that is down, refuses or does not answer within its timeout is a warning in the log.
 */
export interface RunSummary {
  /** The command as typed: `run`, `sync`, `source freshness`, `identity train`. */
  readonly command: string;
  /** Which `commands:` filter it answers to. */
  readonly family: NotifyCommand;
  readonly outcome: NotifyEvent;
  readonly project: string;
  readonly target: string;
  readonly runId?: string | undefined;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** In the order they read best: `{ built: 3, failed: 1, skipped: 2 }`. */
  readonly counts: Readonly<Record<string, number>>;
  /** What failed, each with its error as the command reported it (scrubbed again here). */
  readonly failures: readonly NotifiedItem[];
  /** What went through with a warning: a source past `warn_after`, a sync with rejected records. */
  readonly warnings?: readonly NotifiedItem[];
}

export interface NotifiedItem {
  /** `model`, `sync`, `source`. */
  readonly type: string;
  readonly name: string;
  readonly message: string;
}

/** Items listed per section, and characters per message, within Slack's limits (3,000 characters a section). */
const MAX_ITEMS = 10;
const MAX_MESSAGE = 240;

/** The outcome of a command from its items: all succeeded, some did, or none did (nothing to do is a success). */
export function outcomeOf(succeeded: number, failed: number): NotifyEvent {
  return failed === 0 ? 'success' : succeeded > 0 ? 'partial' : 'failure';
}

/**
 * `text` without secrets and without what looks like personal data: e-mail addresses read `<email>`, phone numbers
 * (a leading `+` or `0`, or digits in groups: seven digits or more) `<phone>`, 32+ hex digits (hashed identifiers)
 * `<hash>`. Dates and times are left alone, as are plain counts (`1200000 rows`).
 */
export function scrubPersonal(text: string): string {
  return scrubPersonalData(scrubEmails(redactor.scrub(text)));
}

/** The message of a summary: Slack's incoming-webhook JSON, `text` for notifications and clients without blocks. */
export function slackMessage(summary: RunSummary): { text: string; blocks: unknown[] } {
  const verb = { failure: 'failed', partial: 'partly failed', success: 'succeeded' }[summary.outcome];
  const icon = { failure: ':x:', partial: ':warning:', success: ':white_check_mark:' }[summary.outcome];
  const counts = Object.entries(summary.counts)
    .map(([what, n]) => `${n} ${what}`)
    .join(', ');
  const title = `tideline ${summary.command} ${verb}`;
  const where = `project ${summary.project}, target ${summary.target}`;
  const text = scrubPersonal(`${title} (${where})${counts ? `: ${counts}` : ''}`);
  const seconds = Math.max(0, Math.round((summary.finishedAt.getTime() - summary.startedAt.getTime()) / 1000));
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `${icon} ${title}`.slice(0, 150), emoji: true } },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Project*\n${escape(summary.project)}`),
        mrkdwn(`*Target*\n${escape(summary.target)}`),
        mrkdwn(`*Result*\n${escape(counts || 'nothing to do')}`),
        mrkdwn(`*Duration*\n${seconds} s`),
      ],
    },
  ];
  const list = (heading: string, items: readonly NotifiedItem[]) => {
    if (!items.length) return;
    const lines = items.slice(0, MAX_ITEMS).map((item) => `• ${item.type} \`${escape(item.name)}\`: ${escape(cut(scrubPersonal(item.message)))}`);
    if (items.length > MAX_ITEMS) lines.push(`… and ${items.length - MAX_ITEMS} more`);
    blocks.push({ type: 'section', text: mrkdwn(`*${heading}*\n${lines.join('\n')}`) });
  };
  list('Failed', summary.failures);
  list('Warnings', summary.warnings ?? []);
  const context = [summary.runId ? `run ${summary.runId}` : '', `started ${summary.startedAt.toISOString().slice(0, 19)}Z`].filter(Boolean).join(' · ');
  blocks.push({ type: 'context', elements: [mrkdwn(escape(context))] });
  return { text, blocks };
}

/**
 * Sends the summary to each `notify:` entry of the project that wants its outcome and command, all at once, each
 * within its timeout; resolves when every one has answered or given up. Never rejects.
 */
export async function notify(project: Project, summary: RunSummary, log: Logger): Promise<void> {
  const entries = (project.config.notify ?? []).filter(
    (entry) => entry.webhook !== '' && entry.on.includes(summary.outcome) && (entry.commands === undefined || entry.commands.includes(summary.family)),
  );
  if (!entries.length) return;
  const body = JSON.stringify(slackMessage(summary));
  await Promise.all(entries.map((entry) => post(entry, body, log)));
}

/**
 * The summary of a command that stopped on an error after the project loaded (warehouse unreachable, lock held,
 * a source column gone): a failure, with the error as its one item, or each problem found against the warehouse.
 */
export function failedSummary(project: Project, command: string, family: NotifyCommand, startedAt: Date, error: unknown): RunSummary {
  return {
    command,
    family,
    outcome: 'failure',
    project: project.name,
    target: project.target.name,
    startedAt,
    finishedAt: new Date(),
    counts: {},
    failures:
      error instanceof ConfigError
        ? error.problems.filter((p) => p.severity === 'error').map((p) => ({ type: 'problem', name: p.code, message: formatProblem(p, project.root) }))
        : [{ type: 'command', name: command, message: describeFailure(error) }],
  };
}

async function post(entry: NotifyEntry, body: string, log: Logger): Promise<void> {
  const receiver = hostOf(entry.webhook);
  try {
    const response = await fetch(entry.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(entry.timeout_seconds * 1000),
    });
    const answer = await response.text().catch(() => '');
    if (!response.ok) {
      log.warn({ receiver, status: response.status }, `notification to ${receiver} was refused (${response.status}${answer ? `: ${cut(scrubPersonal(answer))}` : ''}); the command's outcome is unchanged`);
      return;
    }
    log.debug({ receiver }, `notification sent to ${receiver}`);
  } catch (error) {
    const reason = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError') ? `no answer within ${entry.timeout_seconds} s` : networkReason(error);
    log.warn({ receiver }, `notification to ${receiver} failed: ${scrubPersonal(reason)}; the command's outcome is unchanged`);
  }
}

/** The host of a webhook, the only part of its URL fit for a log (Slack's path is its secret). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the webhook';
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function mrkdwn(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text };
}

/** Slack's mrkdwn escapes: `&`, `<` and `>` only. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string): string {
  const chars = [...text];
  return chars.length > MAX_MESSAGE ? chars.slice(0, MAX_MESSAGE - 1).join('') + '…' : text;
}
